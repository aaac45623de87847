/**
 * Which mesh service an inbound request reached, as telemetry names it (`destination_service`): always a service
 * FQDN from this proxy's config, never the caller's words, so no client can mint a metric series. The app port
 * settles it when one service targets that port; when several share it, the caller's SNI or Host only chooses
 * among those services, and a request that names none of them is `undefined` (reported as `unknown`).
 */
import type { CompiledInbound, CompiledProxyConfig } from '../config/compiled-config.js';
import { parseAuthority } from '../http/authority.js';

export function inboundService(
  cfg: CompiledProxyConfig,
  inbound: CompiledInbound,
  appPort: number,
  sni: string | undefined,
  authority: string,
): string | undefined {
  const services = inbound.servicesByAppPort.get(appPort);
  if (!services) return undefined;
  if (services.length === 1) return services[0];
  // Istio's SNI for mesh mTLS, `outbound_.<port>_._.<fqdn>`.
  const sep = sni?.startsWith('outbound_.') ? sni.indexOf('_._.') : -1;
  if (sni && sep > 0 && services.includes(sni.slice(sep + 4))) return sni.slice(sep + 4);
  const host = parseAuthority(authority)?.host;
  const named = host === undefined ? undefined : cfg.service(host)?.host ?? host;
  return named !== undefined && services.includes(named) ? named : undefined;
}
