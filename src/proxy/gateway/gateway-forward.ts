/**
 * What the gateway adds to and strips from every request it forwards, HTTP/1.1 and HTTP/2 alike: Envoy's edge
 * headers (x-forwarded-proto, XFF with the peer appended, x-envoy-external-address always the trusted client
 * address), a request id, the gateway's name for the destination's telemetry, and this hop's trace context, joined
 * or started as the gateway's Telemetry says (it is the client side of its hop).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { Admitted } from '../security/admit-request.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { PEER_WORKLOAD_HEADER, peerTableOf } from '../telemetry/peer-table.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { tracingFor } from '../telemetry/telemetry-policy.js';
import { startHop } from '../telemetry/trace-context.js';

/** The parts of an HTTP/1.1 or HTTP/2 exchange the gateway sets before dispatch. */
interface Forwarded {
  extraHeaders: string[];
  removeHeaders: ReadonlySet<string> | undefined;
  logFields: Partial<AccessLogEntry> | undefined;
}

export interface EdgeFacts {
  /** The scheme the client used. */
  proto: 'http' | 'https';
  /** x-forwarded-for as it goes upstream: the client's value with the peer appended. */
  forwardedFor: string;
  /** The trusted client address (Istio's numTrustedProxies applied). */
  clientAddress: string;
}

export function prepareGatewayForward(rt: ProxyRuntime, cfg: CompiledProxyConfig, ex: Forwarded, headers: IncomingHttpHeaders, edge: EdgeFacts, admitted: Admitted): void {
  const extra: string[] = ['x-forwarded-proto', edge.proto, 'x-forwarded-for', edge.forwardedFor, 'x-envoy-external-address', edge.clientAddress, ...admitted.addHeaders];
  if (headers['x-request-id'] === undefined) extra.push('x-request-id', randomUUID());
  // The destination's proxy names the gateway in its telemetry; a client's own copy of the header is dropped.
  extra.push(PEER_WORKLOAD_HEADER, peerTableOf(cfg.raw).localKey);
  // The gateway joins the client's trace or starts one; its span is the parent of the first sidecar's.
  const trace = startHop(tracingFor(cfg.raw, 'client'), headers, rt.random);
  if (trace) {
    for (const h of trace.headers) extra.push(h);
    ex.logFields = { ...ex.logFields, trace };
  }
  ex.extraHeaders = extra;
  ex.removeHeaders = new Set([...admitted.removeHeaders, 'x-forwarded-for', 'x-envoy-external-address', ...withoutPeerWorkload(undefined, trace !== undefined)]);
}
