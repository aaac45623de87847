/**
 * Outbound: the app's requests, top to bottom. The app reaches this listener as its HTTP proxy (http_proxy), so
 * requests arrive in absolute-form; a plain Host header works too; captured connections arrive here too.
 *   request target → mesh service by name (registry-compiled aliases) and port → the request path below
 *   not a mesh service → egress (egress.ts): a ServiceEntry http port by Host, else the traffic policy
 * CONNECT host:port tunnels opaque TCP (connect-tunnel.ts).
 *
 * The request path is one chain of layers, each wrapping the next and knowing nothing else (src/proxy/request/);
 * the ingress gateway runs the same chain after its own listener.
 */
import http from 'node:http';
import type net from 'node:net';
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
import { handleConnect } from './connect-tunnel.js';
import { handleEgress } from './egress.js';
import { externalDestinations } from '../request/external-layer.js';

/** The request path from a routed request to the upstream's answer, built once per proxy. */
export function requestPath(rt: ProxyRuntime): Dispatch {
  // Endpoint choice and connect, shared by requests and their mirrored copies.
  // A ServiceEntry host as a route's destination (an egress gateway's route out) leaves by the entry's own rules.
  const toEndpoint = externalDestinations(rt.pools, rt.resolver)(chooseEndpoint(rt.endpoints, rt.random)(connectUpstream(rt.pools)));
  return stack(
    [
      // VirtualService rules: first match wins; 404, redirects, direct responses and CORS preflights answered here.
      matchRoute(rt.random),
      // Delay and abort before anything goes upstream.
      injectFault(rt.random),
      // Copies go out fire-and-forget, beside the real request.
      mirrorRequest(toEndpoint, rt.random),
      // The route timeout spans every attempt.
      enforceTimeout,
      // Each attempt goes through endpoint choice again, so a retry can go to another host.
      retryRequest(rt.random),
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
export type OutboundFinish = (status: number, upstream?: string, reason?: string, egress?: EgressDecision, service?: string) => void;

export function createOutboundServer(rt: ProxyRuntime, options: OutboundOptions = {}): http.Server {
  const authorityOf = options.authorityOf ?? ((req: http.IncomingMessage) => req.headers.host);
  const dialledOf = options.dialledOf ?? (() => undefined);
  const dispatch = requestPath(rt);
  const server = http.createServer((req, res) => handleOutbound(rt, dispatch, req, res, authorityOf, dialledOf));
  server.on('connect', (req: http.IncomingMessage, socket, head: Buffer) => handleConnect(rt, req, socket as net.Socket, head));
  hardenServer(server);
  return server;
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
  const finish: OutboundFinish = (status, upstream, reason, egress, service) => {
    rt.telemetry.record({ direction: 'outbound', method: req.method ?? '', authority, path, status, durationMs: performance.now() - started, upstream, destinationService: service, reason, egress });
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
  if (!service) {
    // Outside the mesh the Host goes on as the app wrote it (a captured request's authority gained the dialled port);
    // a proxy request in absolute-form names its authority in the URL, which replaces Host (RFC 9112 §3.2.2).
    const upstreamAuthority = req.url?.startsWith('/') && req.headers.host ? req.headers.host : authority;
    handleEgress(rt, cfg, req, res, { authority, upstreamAuthority, path, host: parsed.host, port, dialled, extra }, finish);
    return;
  }
  const balanced = service.ports.get(port);
  if (!balanced) {
    const reason = `service ${service.host} has no port ${port}`;
    sendProxyError(res, 404, reason);
    finish(404, undefined, reason, undefined, service.host);
    return;
  }
  const ex = new Http1Exchange(req, res, { authority, path: pathOnly(path), query: queryOf(path), port }, rt.telemetry, 'outbound');
  ex.cfg = cfg;
  ex.routes = balanced.routes;
  ex.defaultDestination = balanced;
  ex.extraHeaders = extra;
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
