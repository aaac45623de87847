/**
 * Names of destinations outside the mesh (ServiceEntry DNS resolution, ALLOW_ANY passthrough by name) resolved
 * against the upstream servers (WEFT_DNS_UPSTREAM), never the pod's own resolver: inside a pod that resolver is
 * this sidecar's DNS proxy, which answers a ServiceEntry host with a virtual address that leads back here.
 * Answers are kept for a short TTL so a busy destination is not resolved per connection.
 */
import dns from 'node:dns';
import net from 'node:net';
import type { Clock } from '../../clock.js';
import { WeftError } from '../../errors.js';
import { resolverServerName } from '../dns/dns-upstream.js';
import type { DnsServer } from '../dns/dns-upstream.js';

export interface HostResolver {
  /** One address for a name; an IP literal is its own answer. Rejects with UPSTREAM_UNREACHABLE. */
  resolve(host: string): Promise<string>;
}

const CACHE_TTL_MS = 30_000;
const MAX_CACHED = 1024;

export function upstreamResolver(servers: readonly DnsServer[], clock: Clock): HostResolver {
  const resolver = new dns.promises.Resolver({ timeout: 2_000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers.map(resolverServerName));
  const cache = new Map<string, { addresses: string[]; expires: number; next: number }>();
  return {
    async resolve(host) {
      if (net.isIP(host) !== 0) return host;
      const now = clock.now();
      let hit = cache.get(host);
      if (!hit || hit.expires <= now) {
        const addresses = await resolver.resolve4(host).catch(() => resolver.resolve6(host)).catch((err: NodeJS.ErrnoException) => {
          throw new WeftError('UPSTREAM_UNREACHABLE', `cannot resolve ${host}: ${err.code ?? err.message}`, { cause: err });
        });
        if (addresses.length === 0) throw new WeftError('UPSTREAM_UNREACHABLE', `cannot resolve ${host}: no addresses`);
        if (cache.size >= MAX_CACHED) cache.clear();
        hit = { addresses, expires: now + CACHE_TTL_MS, next: 0 };
        cache.set(host, hit);
      }
      // Spread connections over the answers as a DNS-resolved Envoy cluster does.
      const address = hit.addresses[hit.next % hit.addresses.length]!;
      hit.next = (hit.next + 1) % hit.addresses.length;
      return address;
    },
  };
}
