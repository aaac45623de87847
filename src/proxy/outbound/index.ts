/**
 * Outbound: the app's requests, top to bottom. The app reaches this listener as its HTTP proxy (http_proxy), so
 * requests arrive in absolute-form; a plain Host header works too.
 *   request target → service by name (registry-compiled aliases) → service port → round-robin endpoint
 *   → keep-alive mTLS pool that checks the peer's SPIFFE ID → stream the answer back
 * CONNECT host:port tunnels opaque TCP the same way (connect-tunnel.ts).
 */
import http from 'node:http';
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { parseAuthority, requestTarget } from '../http/authority.js';
import { forward, upstreamHeaders } from '../http/forward.js';
import { sendProxyError } from '../http/proxy-error.js';
import { targetOf } from '../upstream/endpoint-pools.js';
import { hardenServer } from '../http/harden-server.js';
import { handleConnect } from './connect-tunnel.js';

/**
 * `authorityOf` names where a request is headed when its Host alone does not (captured connections: the port
 * the app dialled); by default the Host header.
 */
export function createOutboundServer(rt: ProxyRuntime, authorityOf: (req: http.IncomingMessage) => string | undefined = (req) => req.headers.host): http.Server {
  const server = http.createServer((req, res) => handleOutbound(rt, req, res, authorityOf));
  server.on('connect', (req: http.IncomingMessage, socket, head: Buffer) => handleConnect(rt, req, socket as net.Socket, head));
  hardenServer(server);
  return server;
}

function handleOutbound(rt: ProxyRuntime, req: http.IncomingMessage, res: http.ServerResponse, authorityOf: (req: http.IncomingMessage) => string | undefined): void {
  const started = performance.now();
  const cfg = rt.config;
  const finish = (status: number, authority: string, path: string, upstream?: string, reason?: string): void => {
    rt.telemetry.record({ direction: 'outbound', method: req.method ?? '', authority, path, status, durationMs: performance.now() - started, upstream, reason });
  };
  const target = requestTarget(req.url ?? '', authorityOf(req));
  if (!target) {
    sendProxyError(res, 400, 'bad request: no request target or Host');
    finish(400, '', req.url ?? '');
    return;
  }
  const { authority, path } = target;
  const parsed = parseAuthority(authority);
  if (!parsed) {
    sendProxyError(res, 400, `bad request: invalid authority "${authority}"`);
    finish(400, authority, path);
    return;
  }
  if (!cfg) {
    sendProxyError(res, 503, 'proxy has no configuration yet');
    finish(503, authority, path);
    return;
  }
  const service = cfg.service(parsed.host);
  if (!service) {
    const reason = `no service named "${parsed.host}" in the mesh`;
    sendProxyError(res, 404, reason);
    finish(404, authority, path, undefined, reason);
    return;
  }
  const port = parsed.port ?? 80;
  const balanced = service.ports.get(port);
  if (!balanced) {
    const reason = `service ${service.host} has no port ${port}`;
    sendProxyError(res, 404, reason);
    finish(404, authority, path, undefined, reason);
    return;
  }
  const ep = balanced.pick();
  if (!ep) {
    sendProxyError(res, 503, 'no healthy upstream');
    finish(503, authority, path, service.host, 'no healthy upstream');
    return;
  }
  const requestId = req.headers['x-request-id'];
  const extra = requestId === undefined ? ['x-request-id', randomUUID()] : [];
  const pool = rt.pools.get(targetOf(ep, balanced.sni));
  forward(req, res, pool, path, upstreamHeaders(req, authority, extra), (d) =>
    finish(d.status, authority, path, ep.workload, d.error),
  );
}
