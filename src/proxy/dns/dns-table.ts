/**
 * The names this pod's DNS proxy answers itself, compiled from a config (Istio's DNS proxying): every mesh
 * service host and alias at the service's first address, and every ServiceEntry host the control plane gave an
 * address (`externals[].dns`). Mesh services win a name both claim. Rebuilt whole on each config swap.
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

function normalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
