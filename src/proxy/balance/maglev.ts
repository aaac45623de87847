/**
 * MAGLEV (Google's Maglev hashing, as Envoy implements it): a lookup table of a prime size M filled by each host's
 * permutation (offset and skip from two hashes of its address), hosts taking turns; a key goes to table[key % M].
 * Hosts are taken in address order, so the listed order changes nothing; adding one host of N moves about 1/N of
 * the keys. Rebuilt only when the host list changes.
 */
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';
import { hash32 } from './hash.js';

const OFFSET_SEED = 0x9747b28c;
const SKIP_SEED = 0x5bd1e995;

export class MaglevBalancer implements LoadBalancer {
  private builtFor: readonly BalanceHost[] | undefined;
  private table = new Int32Array(0);
  private sorted: BalanceHost[] = [];

  constructor(private readonly tableSize: number) {}

  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    if (hosts.length === 0) return undefined;
    if (this.builtFor !== hosts) this.build(hosts);
    const key = ctx.hashKey ?? Math.floor(ctx.random() * 0x100000000);
    return this.sorted[this.table[key % this.tableSize] as number] as H;
  }

  private build(hosts: readonly BalanceHost[]): void {
    const m = this.tableSize;
    const sorted = [...hosts].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const offset = sorted.map((h) => hash32(h.address, OFFSET_SEED) % m);
    const skip = sorted.map((h) => (hash32(h.address, SKIP_SEED) % (m - 1)) + 1);
    const next = new Array<number>(sorted.length).fill(0);
    const table = new Int32Array(m).fill(-1);
    let filled = 0;
    while (filled < m) {
      for (let i = 0; i < sorted.length && filled < m; i++) {
        let c = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % m;
        while (table[c] !== -1) {
          next[i] = (next[i] as number) + 1;
          c = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % m;
        }
        table[c] = i;
        next[i] = (next[i] as number) + 1;
        filled++;
      }
    }
    this.table = table;
    this.sorted = sorted;
    this.builtFor = hosts;
  }
}
