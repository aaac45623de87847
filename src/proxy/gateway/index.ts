/**
 * Ingress gateway: the same proxy, listening where Gateway servers say, top to bottom.
 *   listener port → virtual host by Host (Gateway hosts ∩ VirtualService hosts) → first matching route
 *   → weighted destination → service port → round-robin endpoint → mTLS with the gateway's own identity
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { parseAuthority } from '../http/authority.js';
import { forward, upstreamHeaders } from '../http/forward.js';
import { sendProxyError } from '../http/proxy-error.js';
import { hardenServer } from '../http/harden-server.js';
import { targetOf } from '../upstream/endpoint-pools.js';
import { selectRoute } from '../../route/http-route-match.js';
import type { RouteDestination } from './weighted-pick.js';
import { pickWeighted } from './weighted-pick.js';
import { normalizeRequestPath } from '../http/request-path.js';

export interface GatewayListeners {
  /** Open listeners the new config needs and close those it dropped; rejects (and changes nothing) if one cannot bind. */
  reconcile(cfg: CompiledProxyConfig): Promise<void>;
  addresses(): Record<string, string>;
  close(): Promise<void>;
}

/** `publish` maps a Gateway server port to the host:port this gateway really binds (e.g. 8080 → 127.0.0.1:18080). */
export function createGatewayListeners(rt: ProxyRuntime, bindHost: string, publish: ReadonlyMap<number, number>): GatewayListeners {
  const open = new Map<number, http.Server>();
  const bound = new Map<number, string>();

  const listen = (port: number): Promise<http.Server> =>
    new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => handleGateway(rt, port, req, res));
      hardenServer(server);
      server.once('error', reject);
      server.listen(publish.get(port) ?? port, bindHost, () => {
        server.removeListener('error', reject);
        const a = server.address();
        if (a && typeof a === 'object') bound.set(port, `${a.address}:${a.port}`);
        resolve(server);
      });
    });

  return {
    async reconcile(cfg) {
      const wanted = new Set(cfg.gatewayServers.keys());
      const opened: number[] = [];
      try {
        for (const port of wanted) {
          if (open.has(port)) continue;
          open.set(port, await listen(port));
          opened.push(port);
        }
      } catch (err) {
        for (const port of opened) {
          open.get(port)?.close();
          open.delete(port);
          bound.delete(port);
        }
        throw err;
      }
      for (const [port, server] of open) {
        if (wanted.has(port)) continue;
        server.close();
        open.delete(port);
        bound.delete(port);
      }
    },
    addresses: () => Object.fromEntries([...bound].map(([k, v]) => [String(k), v])),
    async close() {
      await Promise.all([...open.values()].map((s) => new Promise((r) => s.close(r))));
      open.clear();
    },
  };
}

function handleGateway(rt: ProxyRuntime, port: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const started = performance.now();
  const authority = req.headers.host ?? '';
  const url = req.url ?? '';
  const finish = (status: number, upstream?: string, reason?: string): void => {
    if (rt.accessLog.enabled) {
      rt.accessLog.write({ direction: 'gateway', method: req.method ?? '', authority, path: url, status, durationMs: performance.now() - started, upstream, reason });
    }
  };
  const cfg = rt.config;
  const host = parseAuthority(authority);
  const target = normalizeRequestPath(url);
  if (!host || !target) {
    sendProxyError(res, 400, 'bad request: invalid Host or path');
    finish(400);
    return;
  }
  const vh = cfg?.virtualHost(port, host.host);
  const route = vh
    ? selectRoute(vh.routes, {
        path: target.path,
        query: target.query,
        method: req.method ?? 'GET',
        authority,
        scheme: 'http',
        port,
        headers: req.headers,
      })
    : undefined;
  if (!cfg || !route) {
    sendProxyError(res, 404, `no route for ${authority}${target.path}`);
    finish(404, undefined, 'no route');
    return;
  }
  const dest: RouteDestination | undefined = pickWeighted(route.route.destinations);
  const balanced = dest ? cfg.byHost.get(dest.host)?.ports.get(dest.port) : undefined;
  const ep = balanced?.pick();
  if (!dest || !balanced || !ep) {
    sendProxyError(res, 503, 'no healthy upstream');
    finish(503, dest?.host, 'no healthy upstream');
    return;
  }
  const rewrite = route.route.rewrite;
  const upstreamAuthority = rewrite?.authority ?? authority;
  const path = rewrite?.uri !== undefined ? rewriteUri(target.path, route, rewrite.uri) + target.rawQuery : target.path + target.rawQuery;
  const extra: string[] = ['x-forwarded-proto', 'http', 'x-forwarded-for', forwardedFor(req)];
  if (req.headers['x-request-id'] === undefined) extra.push('x-request-id', randomUUID());
  const pool = rt.pools.get(targetOf(ep, balanced.sni));
  forward(req, res, pool, path, upstreamHeaders(req, upstreamAuthority, extra), (d) => finish(d.status, ep.workload, d.error));
}

function forwardedFor(req: http.IncomingMessage): string {
  const prior = req.headers['x-forwarded-for'];
  const remote = req.socket.remoteAddress ?? '';
  return prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
}

/** Istio's rewrite.uri replaces the matched prefix (or the whole path for exact/regex matches). */
function rewriteUri(path: string, route: ReturnType<typeof selectRoute> & object, replacement: string): string {
  for (const m of route.route.match) {
    if (m.uri && 'prefix' in m.uri && path.startsWith(m.uri.prefix)) return replacement + path.slice(m.uri.prefix.length);
  }
  return replacement;
}
