/**
 * HTTP to a host that is not a mesh service: a ServiceEntry's http port matched by Host is forwarded to the entry's
 * destination (external-destination.ts), in plaintext, or over TLS the sidecar originates when a DestinationRule
 * says SIMPLE or MUTUAL for the host and port (tls-origination.ts; a failed handshake is 503 `UF` with its reason,
 * Istio's egress TLS origination); anything else follows the traffic policy. ALLOW_ANY passes
 * it through to where the app was going (a captured connection: the address it dialled; http_proxy mode: the
 * authority itself); REGISTRY_ONLY answers 502, as Istio's BlackHoleCluster does.
 */
import type http from 'node:http';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { forward, upstreamHeaders } from '../http/forward.js';
import type { ForwardDone } from '../http/forward.js';
import { FIXED_POOL_SETTINGS } from '../upstream/pool-settings.js';
import { sendProxyError } from '../http/proxy-error.js';
import { upstreamFailure } from '../http/upstream-error.js';
import { externalDestination } from '../upstream/external-destination.js';
import type { Destination } from '../upstream/external-destination.js';
import type { EgressDecision } from '../telemetry/access-log.js';
import type { OutboundFinish } from './index.js';
import { egressDeniedReason } from './egress-denied.js';
import { GATEWAY_ONLY_FLAG, gatewayOnlyAddressRefusal, gatewayOnlyRefusal } from './egress-gateway-only.js';
import { proxiedConnection } from '../upstream/proxy-protocol.js';

export interface EgressRequest {
  authority: string;
  /** The Host sent upstream. */
  upstreamAuthority: string;
  path: string;
  /** The authority's host, lower case. */
  host: string;
  port: number;
  /** Captured connections: where the app dialled. */
  dialled: Destination | undefined;
  /** Headers the proxy adds (x-request-id). */
  extra: string[];
}

export function handleEgress(
  rt: ProxyRuntime,
  cfg: CompiledProxyConfig,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  r: EgressRequest,
  finish: OutboundFinish,
): void {
  const route = cfg.externals.http(r.host, r.port);
  let to: Promise<Destination>;
  let egress: EgressDecision;
  // The entry's own host (a `*.suffix` pattern for a wildcard match) names it in telemetry, not the request's Host.
  const service = route?.hostFor(r.host);
  const refusal = route === undefined ? undefined : gatewayOnlyRefusal(cfg, r.host, undefined);
  if (route && refusal !== undefined) {
    sendProxyError(res, 502, refusal);
    finish(502, 'BlackHoleCluster', refusal, { decision: 'denied', protocol: 'http', serviceEntry: route.source }, service, GATEWAY_ONLY_FLAG);
    return;
  }
  if (route) {
    egress = { decision: 'external', protocol: 'http', serviceEntry: route.source };
    to = externalDestination(route, r.dialled ?? { address: r.host, port: r.port }, r.host, rt.resolver);
  } else if (cfg.trafficPolicy === 'ALLOW_ANY') {
    // A Host that is no entry's, sent to the address of a gateway-only host: refused by the address.
    const byAddress = gatewayOnlyAddressRefusal(cfg, r.dialled?.address ?? r.host);
    if (byAddress !== undefined) {
      sendProxyError(res, 502, byAddress);
      finish(502, 'BlackHoleCluster', byAddress, { decision: 'denied', protocol: 'http' }, undefined, GATEWAY_ONLY_FLAG);
      return;
    }
    egress = { decision: 'passthrough', protocol: 'http' };
    to = r.dialled ? Promise.resolve(r.dialled) : rt.resolver.resolve(r.host).then((address) => ({ address, port: r.port }));
  } else {
    const reason = egressDeniedReason(cfg.trafficPolicy, `${r.host}:${r.port}`);
    sendProxyError(res, 502, reason);
    finish(502, 'BlackHoleCluster', reason, { decision: 'denied', protocol: 'http' });
    return;
  }
  const originate = route?.originationFor(r.host);
  // The host's DestinationRule connection pool, as at a mesh cluster: the pools' settings and a circuit breaker
  // (external-breakers.ts); passthrough and entries without a rule have neither.
  const connectionPool = route?.connectionPoolFor(r.host);
  const cluster = connectionPool === undefined ? undefined : rt.pools.externalBreakers.cluster(service ?? r.host, r.port, connectionPool.policy);
  to.then(
    (dst) => {
      const upstream = `${dst.address}:${dst.port}`;
      const settings = connectionPool?.settings ?? FIXED_POOL_SETTINGS;
      // Only a host whose rule says `proxyProtocol` keeps its connections per client connection.
      const client = settings.proxyProtocol === null ? undefined : proxiedConnection(req.socket, req.socket, undefined);
      const pool = originate === undefined ? rt.pools.get(dst, settings, client) : rt.pools.originating({ ...dst, host: r.host }, originate, settings, client);
      const done = (d: ForwardDone): void => {
        cluster?.release(true);
        finish(d.status, upstream, d.error, egress, service, d.connectFailed === true ? 'UF' : undefined);
      };
      const send = (): void => forward(req, res, pool, r.path, upstreamHeaders(req, r.upstreamAuthority, r.extra), done, settings.maxRequestsPerConnection === 1);
      if (cluster === undefined) {
        send();
        return;
      }
      const admission = cluster.admit(true, { gone: () => res.destroyed, start: send });
      if (!admission.admitted) {
        // Envoy's overflow answer: 503 with x-envoy-overloaded, flag UO.
        res.setHeader('x-envoy-overloaded', 'true');
        sendProxyError(res, 503, admission.body);
        finish(503, upstream, 'upstream overflow', egress, service, 'UO');
      }
    },
    (err: unknown) => {
      const f = upstreamFailure(err);
      sendProxyError(res, f.status, f.reason);
      finish(f.status, undefined, f.reason, egress, service);
    },
  );
}
