/**
 * The names this pod's DNS proxy answers itself, compiled from a config (Istio's DNS proxying): every mesh
 * service host and alias at the service's first address, and every ServiceEntry host the control plane gave an
 * address (`externals[].dns`). Mesh services win a name both claim. Rebuilt whole when a config changes what it is
 * made of (servesSameNames), kept as it is otherwise.
 */
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';

export class DnsTable {
  readonly #names = new Map<string, string>();

  constructor(outbound: ProxyConfig['outbound']) {
    for (const svc of outbound.services) {
      const address = svc.addresses[0];
      if (address === undefined || net.isIP(address) === 0) continue;
      for (const name of [svc.host, ...svc.aliases]) this.#claim(name, address);
    }
    for (const entry of outbound.externals) {
      for (const { host, address } of entry.dns) if (!host.startsWith('*') && net.isIP(address) !== 0) this.#claim(host, address);
    }
  }

  #claim(name: string, address: string): void {
    const key = normalName(name);
    if (!this.#names.has(key)) this.#names.set(key, address);
  }

  /** The address for a queried name (any case, with or without the final dot), if this proxy owns the name. */
  address(name: string): string | undefined {
    return this.#names.get(normalName(name));
  }

  get size(): number {
    return this.#names.size;
  }
}

type Outbound = ProxyConfig['outbound'];

/**
 * Whether a table made from `next` is the one made from `previous`: the same hosts, aliases and first addresses in
 * the same order, and the same ServiceEntry names and addresses. Parts a push did not change are the same objects
 * (a config merged from a delta shares them), so the check costs an identity test per service and per entry.
 */
export function servesSameNames(previous: Outbound, next: Outbound): boolean {
  if (previous === next) return true;
  return sameList(previous.services, next.services, sameServiceNames) && sameList(previous.externals, next.externals, sameEntryNames);
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !same(a[i]!, b[i]!)) return false;
  return true;
}

function sameServiceNames(a: Outbound['services'][number], b: Outbound['services'][number]): boolean {
  return a.host === b.host && a.addresses[0] === b.addresses[0] && sameList(a.aliases, b.aliases, (x, y) => x === y);
}

function sameEntryNames(a: Outbound['externals'][number], b: Outbound['externals'][number]): boolean {
  return sameList(a.dns, b.dns, (x, y) => x.host === y.host && x.address === y.address);
}

function normalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
