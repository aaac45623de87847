/**
 * Outbound: the app's requests, top to bottom. The app reaches this listener as its HTTP proxy (http_proxy), so
 * requests arrive in absolute-form; a plain Host header works too; captured connections arrive here too.
 *   request target → service by name (registry-compiled aliases) → service port → round-robin endpoint
 *   → keep-alive mTLS pool that checks the peer's SPIFFE ID → stream the answer back
 *   not a mesh service → egress (egress.ts): a ServiceEntry http port by Host, else the traffic policy
 * CONNECT host:port tunnels opaque TCP (connect-tunnel.ts).
 */
import http from 'node:http';
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority, requestTarget } from '../http/authority.js';
import { forward, upstreamHeaders } from '../http/forward.js';
import { sendProxyError } from '../http/proxy-error.js';
import { targetOf } from '../upstream/endpoint-pools.js';
import type { Destination } from '../upstream/external-destination.js';
import { hardenServer } from '../http/harden-server.js';
import { hostFieldProblem, refuseMalformed } from '../http/host-field.js';
import type { EgressDecision } from '../telemetry/access-log.js';
import { handleConnect } from './connect-tunnel.js';
import { handleEgress } from './egress.js';

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
  const server = http.createServer((req, res) => handleOutbound(rt, req, res, authorityOf, dialledOf));
  server.on('connect', (req: http.IncomingMessage, socket, head: Buffer) => handleConnect(rt, req, socket as net.Socket, head));
  hardenServer(server);
  return server;
}

function handleOutbound(
  rt: ProxyRuntime,
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
  const ep = balanced.pick();
  if (!ep) {
    sendProxyError(res, 503, 'no healthy upstream');
    finish(503, service.host, 'no healthy upstream', undefined, service.host);
    return;
  }
  const pool = rt.pools.get(targetOf(ep, balanced.sni));
  forward(req, res, pool, path, upstreamHeaders(req, authority, extra), (d) => finish(d.status, ep.workload, d.error, undefined, service.host));
}
