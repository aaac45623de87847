/**
 * The app's HTTP/2 (h2c with prior knowledge) at the sidecar: on the explicit outbound listener and on captured
 * connections alike. Each stream is one H2Exchange through the same request path as an HTTP/1.1 request: the mesh
 * service by `:authority` (captured: completed from the dialled address, and routed on the dialled port), then
 * route, fault, mirror, timeout, retry, endpoint and connect. Answers the proxy makes before the chain (bad
 * authority, no config, no such port) go through the exchange too, so a gRPC caller gets them in gRPC terms.
 * A ServiceEntry host takes the same chain by its default route (external-layer.ts); other hosts outside the mesh are
 * refused (502); CONNECT over HTTP/2 is refused.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority } from '../http/authority.js';
import { replyLocally } from '../request/exchange.js';
import type { Dispatch } from '../request/exchange.js';
import { H2Exchange } from '../http2/h2-exchange.js';
import { createH2cServer } from '../http2/h2c-server.js';
import type { OriginalDst } from '../capture/original-dst.js';
import { capturedAuthority } from '../capture/captured-authority.js';
import { PEER_WORKLOAD_HEADER, peerTableOf } from '../telemetry/peer-table.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { startHop } from '../telemetry/trace-context.js';
import { egressDeniedReason } from './egress-denied.js';
import { tracingFor } from '../telemetry/telemetry-policy.js';

export interface OutboundH2 {
  /** Serve one connection as HTTP/2; `dialled` is where a captured connection was going. */
  serve(socket: Duplex, dialled?: OriginalDst): void;
  close(): void;
}

export function createOutboundH2(rt: ProxyRuntime, dispatch: Dispatch): OutboundH2 {
  return createH2cServer<OriginalDst>((stream, headers, flags, dialled) => handleStream(rt, dispatch, stream, headers, flags, dialled));
}

function handleStream(rt: ProxyRuntime, dispatch: Dispatch, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, dialled: OriginalDst | undefined): void {
  const cfg = rt.config;
  const target = headers[':path'] ?? '';
  const q = target.indexOf('?');
  let authority = headers[':authority'] ?? headers.host ?? '';
  if (dialled !== undefined) authority = capturedAuthority(authority === '' ? undefined : authority, dialled, (a) => cfg?.serviceAt(a)?.host) ?? authority;
  const parsed = parseAuthority(authority);
  const port = dialled?.port ?? parsed?.port ?? 80;
  const ex = new H2Exchange(stream, headers, flags, { authority, path: q < 0 ? target : target.slice(0, q), query: q < 0 ? '' : target.slice(q + 1), port }, rt.telemetry, 'outbound');
  if (headers[':method'] === 'CONNECT') return refuse(ex, 405, 'CONNECT over HTTP/2 is not supported');
  if (!parsed) return refuse(ex, 400, `bad request: invalid authority "${authority}"`);
  if (!cfg) return refuse(ex, 503, 'proxy has no configuration yet');
  ex.cfg = cfg;
  const service = cfg.service(parsed.host);
  if (!service) return outsideTheMesh(rt, dispatch, ex, headers, parsed.host, port);
  const balanced = service.ports.get(port);
  if (!balanced) return refuse(ex, 404, `service ${service.host} has no port ${port}`, 'NR');
  ex.routes = balanced.routes;
  ex.defaultDestination = balanced;
  const extra: string[] = headers['x-request-id'] === undefined ? ['x-request-id', randomUUID()] : [];
  // As for HTTP/1.1 (index.ts): the destination's proxy names this workload in its telemetry, and this hop's span
  // context replaces the app's.
  extra.push(PEER_WORKLOAD_HEADER, peerTableOf(cfg.raw).localKey);
  const trace = startHop(tracingFor(cfg.raw, 'client'), headers, rt.random);
  if (trace) {
    for (const h of trace.headers) extra.push(h);
    ex.logFields = { trace };
  }
  ex.extraHeaders = extra;
  ex.removeHeaders = withoutPeerWorkload(undefined, trace !== undefined);
  dispatch(ex, ex);
}

/**
 * A host outside the mesh: a ServiceEntry's http, http2 or grpc port takes the default route through the same
 * chain (external-layer.ts sends it on, HTTP/2 to http2 and grpc ports, over TLS a DestinationRule originates).
 * Anything else is refused as Istio's BlackHoleCluster refuses it (HTTP/2 is not passed through, even with
 * ALLOW_ANY: its streams are not one destination's).
 */
function outsideTheMesh(rt: ProxyRuntime, dispatch: Dispatch, ex: H2Exchange, headers: IncomingHttpHeaders, host: string, port: number): void {
  const cfg = ex.cfg;
  const route = cfg.externals.http(host, port);
  if (route === undefined) {
    const reason = cfg.trafficPolicy === 'ALLOW_ANY' ? `HTTP/2 to ${host}:${port}: no ServiceEntry, and ALLOW_ANY does not pass HTTP/2 through` : egressDeniedReason(cfg.trafficPolicy, `${host}:${port}`);
    return refuse(ex, 502, reason, 'NR');
  }
  ex.defaultDestination = { host, port };
  // The mesh's own headers (peer workload) are not sent outside it; a request id and this hop's trace are.
  const extra: string[] = headers['x-request-id'] === undefined ? ['x-request-id', randomUUID()] : [];
  const trace = startHop(cfg.raw.telemetry?.tracing, headers, rt.random);
  if (trace) for (const h of trace.headers) extra.push(h);
  ex.logFields = { egress: { decision: 'external', protocol: 'http', serviceEntry: route.source }, ...(trace && { trace }) };
  ex.extraHeaders = extra;
  ex.removeHeaders = withoutPeerWorkload(undefined, trace !== undefined);
  dispatch(ex, ex);
}

function refuse(ex: H2Exchange, status: number, reason: string, flag?: string): void {
  ex.reason = reason;
  replyLocally(ex, ex, status, reason, undefined, flag);
}
