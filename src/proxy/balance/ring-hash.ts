/**
 * RING_HASH (Envoy's ketama-style ring): every host gets the same number of points at hash(address_i); a key goes
 * to the first point at or after its hash, wrapping around. Points depend only on addresses, so the order hosts are
 * listed in changes nothing. The ring has at least minimumRingSize points, but unlike Envoy (which re-divides the
 * ring among the hosts on every change, so old hosts trade points among themselves) the points per host change only
 * when the host count crosses a power of two: adding one host of N then takes about 1/N of the keys, all to itself.
 * The ring is rebuilt only when the host list changes (HostSet hands out a new array then).
 */
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';
import { hash32 } from './hash.js';

/** Envoy's bound on the ring. */
const MAX_RING_SIZE = 8 * 1024 * 1024;

export class RingHashBalancer implements LoadBalancer {
  private builtFor: readonly BalanceHost[] | undefined;
  private points = new Uint32Array(0);
  private owners: BalanceHost[] = [];

  constructor(private readonly minimumRingSize: number) {}

  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    if (hosts.length === 0) return undefined;
    if (this.builtFor !== hosts) this.build(hosts);
    const key = ctx.hashKey ?? Math.floor(ctx.random() * 0x100000000);
    const points = this.points;
    // First point with hash >= key; past the end wraps to the first.
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === points.length ? 0 : lo] as H;
  }

  private build(hosts: readonly BalanceHost[]): void {
    const bucket = 2 ** Math.floor(Math.log2(hosts.length));
    const perHost = Math.max(1, Math.ceil(Math.min(MAX_RING_SIZE / hosts.length, this.minimumRingSize / bucket)));
    const entries: { hash: number; host: BalanceHost }[] = [];
    for (const host of hosts) for (let i = 0; i < perHost; i++) entries.push({ hash: hash32(`${host.address}_${i}`), host });
    // Ties (rare) broken by address, so the order hosts were listed in never matters.
    entries.sort((a, b) => a.hash - b.hash || (a.host.address < b.host.address ? -1 : a.host.address > b.host.address ? 1 : 0));
    this.points = Uint32Array.from(entries, (e) => e.hash);
    this.owners = entries.map((e) => e.host);
    this.builtFor = hosts;
  }
}
