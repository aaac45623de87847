/**
 * Outbound: the app's requests, top to bottom. The app reaches this listener as its HTTP proxy (http_proxy), so
 * requests arrive in absolute-form; a plain Host header works too; captured connections arrive here too. A connection
 * that opens with HTTP/2's preface is h2c (outbound-h2.ts): each of its streams takes the same request path.
 *   request target → mesh service by name (registry-compiled aliases) and port → the request path below
 *   not a mesh service → egress (egress.ts): a ServiceEntry http port by Host, else the traffic policy
 * CONNECT host:port tunnels opaque TCP (connect-tunnel.ts).
 *
 * The request path is one chain of layers, each wrapping the next and knowing nothing else (src/proxy/request/);
 * the ingress gateway runs the same chain after its own listener.
 */
import http from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority, requestTarget } from '../http/authority.js';
import { sendProxyError } from '../http/proxy-error.js';
import type { Destination } from '../upstream/external-destination.js';
import { hardenServer } from '../http/harden-server.js';
import { hostFieldProblem, refuseMalformed } from '../http/host-field.js';
import type { EgressDecision } from '../telemetry/access-log.js';
import { stack } from '../request/exchange.js';
import type { Dispatch } from '../request/exchange.js';
import { Http1Exchange } from '../request/http1-exchange.js';
import { matchRoute } from '../request/route-layer.js';
import { injectFault } from '../request/fault-layer.js';
import { mirrorRequest } from '../request/mirror-layer.js';
import { enforceTimeout } from '../request/timeout-layer.js';
import { retryRequest } from '../request/retry-layer.js';
import { chooseEndpoint } from '../request/endpoint-layer.js';
import { connectUpstream } from '../request/connect-upstream.js';
import { keepBody } from '../request/body-layer.js';
import { RequestTimers } from '../request/request-timers.js';
import { RETRY_BUFFER_LIMIT_BYTES } from '../request/retry-buffer.js';
import { handleConnect } from './connect-tunnel.js';
import { handleEgress } from './egress.js';
import { createOutboundH2 } from './outbound-h2.js';
import type { OutboundH2 } from './outbound-h2.js';
import { checkConnectionsUnbound, dispatchByPreface, drainOnClose } from './h2c-preface.js';
import { connectUpstreamH2 } from '../http2/h2-upstream.js';
import { PEER_WORKLOAD_HEADER, peerTableOf } from '../telemetry/peer-table.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { startHop } from '../telemetry/trace-context.js';
import { tracingFor } from '../telemetry/telemetry-policy.js';

const PEER_WORKLOAD_ONLY = withoutPeerWorkload(undefined);
const PEER_AND_TRACE = withoutPeerWorkload(undefined, true);
import { externalDestinations } from '../request/external-layer.js';

/** The request path from a routed request to the upstream's answer, built once per proxy. */
/**
 * The innermost step: an HTTP/1.1 keep-alive pool (undici), or a stream on a pooled HTTP/2 session when the
 * destination port speaks HTTP/2 (Istio's http2 and grpc protocols; the endpoint layer says which).
 */
export function connectByProtocol(rt: Pick<ProxyRuntime, 'pools' | 'h2Pools'>): Dispatch {
  const h1 = connectUpstream(rt.pools);
  const h2 = connectUpstreamH2(rt.h2Pools);
  return (ex, handler) => (ex.upstreamH2 ? h2 : h1)(ex, handler);
}

export function requestPath(rt: ProxyRuntime): Dispatch {
  // One timer queue on the runtime's clock for every timeout, backoff and delay of this path.
  const timers = new RequestTimers(rt.clock);
  // Endpoint choice and connect, shared by requests and their mirrored copies.
  // A ServiceEntry host as a route's destination leaves by the entry's own rules (HTTP/2 for its http2/grpc ports).
  const toEndpoint = externalDestinations(rt.pools, rt.resolver, rt.h2Pools)(chooseEndpoint(rt.endpoints, rt.random)(connectByProtocol(rt)));
  return stack(
    [
      // VirtualService rules: first match wins; 404, redirects, direct responses and CORS preflights answered here.
      matchRoute(rt.random),
      // Delay and abort before anything goes upstream.
      injectFault(rt.random, timers),
      // A body that may be sent again (retry, mirror) is kept up to Envoy's buffer limit while it streams.
      keepBody(RETRY_BUFFER_LIMIT_BYTES),
      // Copies go out fire-and-forget, beside the real request.
      mirrorRequest(toEndpoint, rt.random),
      // The route timeout spans every attempt.
      enforceTimeout(timers),
      // Each attempt goes through endpoint choice again, so a retry can go to another host.
      retryRequest(rt.random, timers),
    ],
    toEndpoint,
  );
}

export interface OutboundOptions {
  /** Where a request is headed when its Host alone does not say (captured connections: the port the app dialled). */
  authorityOf?: (req: http.IncomingMessage) => string | undefined;
  /** Captured connections: where the app dialled, the destination of an ALLOW_ANY passthrough. */
  dialledOf?: (req: http.IncomingMessage) => Destination | undefined;
}

/** Reports one request; `service` is the mesh service or ServiceEntry host it matched in config, if any. */
export type OutboundFinish = (status: number, upstream?: string, reason?: string, egress?: EgressDecision, service?: string, responseFlags?: string) => void;

/** The outbound HTTP servers, HTTP/1.1 and HTTP/2, over one request path. */
export interface OutboundServers {
  http1: http.Server;
  h2: OutboundH2;
}

export function createOutboundServers(rt: ProxyRuntime, options: OutboundOptions = {}): OutboundServers {
  const authorityOf = options.authorityOf ?? ((req: http.IncomingMessage) => req.headers.host);
  const dialledOf = options.dialledOf ?? (() => undefined);
  const dispatch = requestPath(rt);
  const server = http.createServer((req, res) => handleOutbound(rt, dispatch, req, res, authorityOf, dialledOf));
  server.on('connect', (req: http.IncomingMessage, socket, head: Buffer) => handleConnect(rt, req, socket as net.Socket, head));
  hardenServer(server);
  // Connections come from a listener in front (outbound, capture), never from this server's own bind.
  checkConnectionsUnbound(server);
  const h2 = createOutboundH2(rt, dispatch);
  server.once('close', () => h2.close());
  return { http1: server, h2 };
}

export function createOutboundServer(rt: ProxyRuntime, options: OutboundOptions = {}): http.Server {
  return createOutboundServers(rt, options).http1;
}

/** The explicit outbound listener: HTTP/1.1 (the app's http_proxy) and h2c with prior knowledge on one port. */
export function createOutboundListener(rt: ProxyRuntime): net.Server {
  const { http1, h2 } = createOutboundServers(rt);
  const listener = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    dispatchByPreface(socket, (s) => http1.emit('connection', s), (s) => h2.serve(s));
  });
  drainOnClose(listener, http1, h2);
  return listener;
}

function handleOutbound(
  rt: ProxyRuntime,
  dispatch: Dispatch,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  authorityOf: (req: http.IncomingMessage) => string | undefined,
  dialledOf: (req: http.IncomingMessage) => Destination | undefined,
): void {
  const started = performance.now();
  const cfg = rt.config;
  const target = requestTarget(req.url ?? '', authorityOf(req));
  const authority = target?.authority ?? '';
  const path = target?.path ?? req.url ?? '';
  const finish: OutboundFinish = (status, upstream, reason, egress, service, responseFlags) => {
    rt.telemetry.record({ direction: 'outbound', method: req.method ?? '', authority, path, status, durationMs: performance.now() - started, upstream, destinationService: service, reason, egress, ...(responseFlags !== undefined && { responseFlags }) });
  };
  const malformed = hostFieldProblem(req);
  if (malformed) {
    refuseMalformed(res, malformed);
    finish(400, undefined, malformed);
    return;
  }
  if (!target) {
    sendProxyError(res, 400, 'bad request: no request target or Host');
    finish(400);
    return;
  }
  const parsed = parseAuthority(authority);
  if (!parsed) {
    sendProxyError(res, 400, `bad request: invalid authority "${authority}"`);
    finish(400);
    return;
  }
  if (!cfg) {
    sendProxyError(res, 503, 'proxy has no configuration yet');
    finish(503);
    return;
  }
  const requestId = req.headers['x-request-id'];
  const extra = requestId === undefined ? ['x-request-id', randomUUID()] : [];
  const dialled = dialledOf(req);
  // A captured request is routed on the port the app dialled, as Istio's per-port listeners route it: a Host or an
  // absolute-form URL naming another port must not choose the ServiceEntry (or service) port, or a `resolution: NONE`
  // entry for foo.com:80 would carry `Host: foo.com:80` to any address on any port the app dials.
  const port = dialled?.port ?? parsed.port ?? 80;
  const service = cfg.service(parsed.host);
  // A ServiceEntry host that VirtualServices bound to the mesh route (to an egress gateway) takes those routes.
  const routed = service === undefined ? cfg.routedExternal(parsed.host, port) : undefined;
  if (!service && routed === undefined) {
    // Outside the mesh the Host goes on as the app wrote it (a captured request's authority gained the dialled port);
    // a proxy request in absolute-form names its authority in the URL, which replaces Host (RFC 9112 §3.2.2).
    const upstreamAuthority = req.url?.startsWith('/') && req.headers.host ? req.headers.host : authority;
    handleEgress(rt, cfg, req, res, { authority, upstreamAuthority, path, host: parsed.host, port, dialled, extra }, finish);
    return;
  }
  const balanced = routed ?? service?.ports.get(port);
  if (!balanced) {
    const reason = `service ${service?.host ?? parsed.host} has no port ${port}`;
    sendProxyError(res, 404, reason);
    finish(404, undefined, reason, undefined, service?.host);
    return;
  }
  const ex = new Http1Exchange(req, res, { authority, path: pathOnly(path), query: queryOf(path), port }, rt.telemetry, 'outbound');
  ex.cfg = cfg;
  ex.routes = balanced.routes;
  ex.defaultDestination = balanced;
  // The destination's proxy names this workload in its telemetry; an app's own copy of the header is dropped.
  extra.push(PEER_WORKLOAD_HEADER, peerTableOf(cfg.raw).localKey);
  // This hop's span is the parent of the next: its context replaces the app's.
  const trace = startHop(tracingFor(cfg.raw, 'client'), req.headers, rt.random);
  if (trace) {
    for (const h of trace.headers) extra.push(h);
    ex.logFields = { trace };
  }
  ex.extraHeaders = extra;
  ex.dialledAddress = dialled?.address;
  ex.removeHeaders = trace ? PEER_AND_TRACE : PEER_WORKLOAD_ONLY;
  dispatch(ex, ex);
}

function pathOnly(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

function queryOf(target: string): string {
  const q = target.indexOf('?');
  return q < 0 ? '' : target.slice(q + 1);
}
