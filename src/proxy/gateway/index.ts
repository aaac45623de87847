/**
 * Ingress gateway: the same proxy, listening where Gateway servers say, top to bottom.
 *   listener port → path normalisation, JWT, AuthorizationPolicy (as on every inbound side) → virtual host by Host
 *   (Gateway hosts ∩ VirtualService hosts) → the sidecars' request path (outbound/index.ts: route match, fault,
 *   mirror, timeout, retry, endpoint choice, mTLS with the gateway's own identity)
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { parseAuthority } from '../http/authority.js';
import { sendProxyError } from '../http/proxy-error.js';
import { hardenServer } from '../http/harden-server.js';
import { hostFieldProblem, refuseMalformed } from '../http/host-field.js';
import type { Dispatch } from '../request/exchange.js';
import { Http1Exchange } from '../request/http1-exchange.js';
import { PEER_WORKLOAD_HEADER, peerTableOf } from '../telemetry/peer-table.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { startHop } from '../telemetry/trace-context.js';
import { requestPath } from '../outbound/index.js';
import { trustedClientAddress } from './client-address.js';
import { admitRequest } from '../security/admit-request.js';
import type { Admitted } from '../security/admit-request.js';
import { authzLogFields } from '../security/authz-log.js';
import type { AuthzDecision } from '../../authz/index.js';

export interface GatewayListeners {
  /** Open listeners the new config needs and close those it dropped; rejects (and changes nothing) if one cannot bind. */
  reconcile(cfg: CompiledProxyConfig): Promise<void>;
  addresses(): Record<string, string>;
  close(): Promise<void>;
}

/** Reports one request; `service` is the route's destination host (config), when a route chose one. */
type GatewayFinish = (status: number, upstream?: string, reason?: string, decision?: AuthzDecision, service?: string) => void;

/** `publish` maps a Gateway server port to the host:port this gateway really binds (e.g. 8080 → 127.0.0.1:18080). */
export function createGatewayListeners(rt: ProxyRuntime, bindHost: string, publish: ReadonlyMap<number, number>): GatewayListeners {
  const open = new Map<number, http.Server>();
  // The same request path as a sidecar's outbound side, after the gateway's own admission.
  const dispatch = requestPath(rt);
  const bound = new Map<number, string>();

  const listen = (port: number): Promise<http.Server> =>
    new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => handleGateway(rt, dispatch, port, req, res));
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

function handleGateway(rt: ProxyRuntime, dispatch: Dispatch, port: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const started = performance.now();
  const authority = req.headers.host ?? '';
  const url = req.url ?? '';
  const finish: GatewayFinish = (status, upstream, reason, decision, service) => {
    rt.telemetry.record({ direction: 'gateway', method: req.method ?? '', authority, path: url, status, durationMs: performance.now() - started, upstream, destinationService: service, reason, ...authzLogFields(decision) });
  };
  const malformed = hostFieldProblem(req);
  if (malformed) {
    refuseMalformed(res, malformed);
    finish(400, undefined, malformed);
    return;
  }
  const cfg = rt.config;
  const host = parseAuthority(authority);
  if (!cfg || !host || !url.startsWith('/')) {
    sendProxyError(res, cfg ? 400 : 503, cfg ? 'bad request: invalid Host or path' : 'proxy has no configuration yet');
    finish(cfg ? 400 : 503);
    return;
  }
  const ctx = {
    cfg,
    pools: rt.pools,
    peer: undefined,
    sni: undefined,
    destinationIp: req.socket.localAddress ?? '',
    destinationPort: port,
    remoteIp: trustedClientAddress(req.headers['x-forwarded-for'], req.socket.remoteAddress ?? '', cfg.raw.gateway?.numTrustedProxies ?? 0),
    onUnknownKey: (uris: string[]) => rt.requestJwksRefresh(uris),
  };
  admitRequest(ctx, req, res, url).then(
    (admitted) => {
      if ('status' in admitted) finish(admitted.status, undefined, admitted.reason, admitted.decision);
      else route(rt, dispatch, cfg, port, host.host, req, res, admitted, ctx.remoteIp);
    },
    (err: unknown) => {
      rt.log.warn('gateway request failed in the proxy', { error: String(err) });
      sendProxyError(res, 500, 'internal proxy error');
      finish(500, undefined, String(err));
    },
  );
}

function route(
  rt: ProxyRuntime,
  dispatch: Dispatch,
  cfg: CompiledProxyConfig,
  port: number,
  host: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  admitted: Admitted,
  clientAddress: string,
): void {
  const q = admitted.path.indexOf('?');
  const path = q < 0 ? admitted.path : admitted.path.slice(0, q);
  const query = q < 0 ? '' : admitted.path.slice(q + 1);
  const ex = new Http1Exchange(req, res, { authority: req.headers.host ?? '', path, query, port }, rt.telemetry, 'gateway');
  ex.cfg = cfg;
  // No virtual host for this Host: no routes and no default destination, so the chain answers 404.
  ex.routes = cfg.virtualHost(port, host)?.routes ?? [];
  ex.logFields = authzLogFields(admitted.decision);
  // Envoy at the edge: XFF gets the peer appended (one header, not the client's beside ours), and
  // x-envoy-external-address is always the trusted client address, whatever the client sent.
  const extra: string[] = ['x-forwarded-proto', 'http', 'x-forwarded-for', forwardedFor(req), 'x-envoy-external-address', clientAddress, ...admitted.addHeaders];
  if (req.headers['x-request-id'] === undefined) extra.push('x-request-id', randomUUID());
  // The destination's proxy names the gateway in its telemetry; a client's own copy of the header is dropped.
  extra.push(PEER_WORKLOAD_HEADER, peerTableOf(cfg.raw).localKey);
  // The gateway joins the client's trace or starts one; its span is the parent of the first sidecar's.
  const trace = startHop(cfg.raw.telemetry?.tracing, req.headers, rt.random);
  if (trace) {
    for (const h of trace.headers) extra.push(h);
    ex.logFields = { ...ex.logFields, trace };
  }
  ex.extraHeaders = extra;
  ex.removeHeaders = new Set([...admitted.removeHeaders, 'x-forwarded-for', 'x-envoy-external-address', ...withoutPeerWorkload(undefined, trace !== undefined)]);
  dispatch(ex, ex);
}

function forwardedFor(req: http.IncomingMessage): string {
  const prior = req.headers['x-forwarded-for'];
  const remote = req.socket.remoteAddress ?? '';
  return prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
}
