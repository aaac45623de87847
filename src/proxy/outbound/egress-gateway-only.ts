/**
 * The egress gateway as the only exit (weft beyond Istio, istio/istio#43065): a ServiceEntry host that some
 * VirtualService bound to the mesh routes to an egress gateway is never dialled by a sidecar itself, whether the app
 * names it by Host, by SNI or dials its address, and whether or not this sidecar sees that VirtualService. Only a
 * route to the gateway's service leaves. The refusal is an egress decision `denied` (weft_egress_total,
 * weft_egress_denied_total) logged with Envoy's `NR` (no route: this proxy has no way out for the host).
 */
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { ExternalRoute } from '../config/compiled-externals.js';

export const GATEWAY_ONLY_FLAG = 'NR';

/**
 * Why this sidecar may not dial `host` itself (a Host or an SNI), or, for a connection matched by the address it
 * dialled alone, the entry `route` it matched; undefined: it may.
 */
export function gatewayOnlyRefusal(cfg: CompiledProxyConfig, host: string | undefined, route: ExternalRoute | undefined): string | undefined {
  if (cfg.egressGatewayHosts.size === 0) return undefined;
  const named = host !== undefined ? (cfg.egressGatewayHosts.has(host) ? host : undefined) : route?.entry.hosts.find((h) => cfg.egressGatewayHosts.has(h));
  return named === undefined ? undefined : `egress denied: ${named} leaves the mesh only through the egress gateway`;
}
