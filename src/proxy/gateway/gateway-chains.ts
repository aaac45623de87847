/**
 * The chains of a TLS or TCP gateway port, compiled once per config: routes precompiled, and the choice by SNI that
 * Envoy's filter chain match makes: an exact server name, then the longest `*.suffix`, then a `*` chain (which also
 * takes a ClientHello without SNI). No chain for a name: the connection is closed, as Envoy closes it.
 */
import type { CompiledProxyConfig, CompiledVirtualHost } from '../config/compiled-config.js';
import { compileVirtualHost } from '../config/compiled-config.js';
import type { GatewayChain } from '../../proxyconfig/types.js';
import { compileL4Routes } from '../../route/l4-route-match.js';
import type { CompiledL4Route } from '../../route/l4-route-match.js';
import { hostMatches } from '../../route/http-route-match.js';

export interface CompiledChain {
  readonly raw: GatewayChain;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly tcp: readonly CompiledL4Route[];
  readonly tlsRoutes: readonly CompiledL4Route[];
}

const cache = new WeakMap<CompiledProxyConfig, Map<number, CompiledChain[]>>();

/** The compiled chains of a port in config order; empty for an HTTP port or one this config does not have. */
export function chainsOf(cfg: CompiledProxyConfig, port: number): readonly CompiledChain[] {
  let byPort = cache.get(cfg);
  if (byPort === undefined) {
    byPort = new Map();
    for (const server of cfg.raw.gateway?.servers ?? []) {
      byPort.set(
        server.port,
        (server.chains ?? []).map((raw) => ({
          raw,
          virtualHosts: (raw.virtualHosts ?? []).map(compileVirtualHost),
          tcp: compileL4Routes(raw.tcp ?? []),
          tlsRoutes: compileL4Routes(raw.tlsRoutes ?? []),
        })),
      );
    }
    cache.set(cfg, byPort);
  }
  return byPort.get(port) ?? [];
}

/** The chain serving a server name (undefined: no SNI sent). */
export function selectChain<C extends { raw: { sniHosts: readonly string[] } }>(chains: readonly C[], sni: string | undefined): C | undefined {
  let best: C | undefined;
  let bestLength = -1;
  for (const c of chains) {
    for (const h of c.raw.sniHosts) {
      if (h === '*') {
        if (bestLength < 0) {
          best = c;
          bestLength = 0;
        }
        continue;
      }
      if (sni === undefined) continue;
      if (h === sni) return c;
      if (h.startsWith('*.') && h.length > bestLength && hostMatches(h, sni)) {
        best = c;
        bestLength = h.length;
      }
    }
  }
  return best;
}
