/**
 * Ingress gateway: the same proxy, listening where Gateway servers say, top to bottom.
 *   listener port (TLS and TCP ports: tls-listener.ts chooses the server by SNI and terminates or passes through)
 *   → path normalisation, JWT, AuthorizationPolicy (as on every inbound side) → virtual host by Host
 *   (Gateway hosts ∩ VirtualService hosts) → the sidecars' request path (outbound/index.ts: route match, fault,
 *   mirror, timeout, retry, endpoint choice, mTLS with the gateway's own identity)
 * A connection that opens with HTTP/2's preface is h2c, and a TLS connection whose ALPN chose h2 is HTTP/2 too
 * (gateway-h2.ts): each stream takes the same admission and path.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { pickVirtualHost } from '../config/compiled-config.js';
import { buildChainTls, handleTlsPortConnection } from './tls-listener.js';
import type { TlsConnectionInfo } from './tls-listener.js';
import type { ServerTlsRuntime } from './server-tls.js';
import type { SvidState } from '../tls/workload-certificate.js';
import { parseAuthority } from '../http/authority.js';
import { sendProxyError } from '../http/proxy-error.js';
import { hardenServer } from '../http/harden-server.js';
import { hostFieldProblem, refuseMalformed } from '../http/host-field.js';
import type { Dispatch } from '../request/exchange.js';
import { Http1Exchange } from '../request/http1-exchange.js';
import { prepareGatewayForward } from './gateway-forward.js';
import { requestPath } from '../outbound/index.js';
import { trustedClientAddress } from './client-address.js';
import { admitRequest } from '../security/admit-request.js';
import type { Admitted } from '../security/admit-request.js';
import { authzLogFields } from '../security/authz-log.js';
import type { AuthzDecision } from '../../authz/index.js';
import { createGatewayH2 } from './gateway-h2.js';
import { checkConnectionsUnbound, dispatchByPreface, drainOnClose } from '../outbound/h2c-preface.js';

export interface GatewayListeners {
  /** Open listeners the new config needs and close those it dropped; rejects (and changes nothing) if one cannot bind or a certificate cannot be loaded. */
  reconcile(cfg: CompiledProxyConfig): Promise<void>;
  /** The gateway's own certificate changed: ISTIO_MUTUAL servers serve it on new connections. */
  rotate(): void;
  addresses(): Record<string, string>;
  close(): Promise<void>;
}

/** Reports one request; `service` is the route's destination host (config), when a route chose one. */
type GatewayFinish = (status: number, upstream?: string, reason?: string, decision?: AuthzDecision, service?: string) => void;

/** Envoy's default bound on a listener's first bytes; the handshake shares it (see tls-listener.ts). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;

type PortProtocol = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP';

/** `publish` maps a Gateway server port to the host:port this gateway really binds (e.g. 8080 → 127.0.0.1:18080). */
export function createGatewayListeners(
  rt: ProxyRuntime,
  bindHost: string,
  publish: ReadonlyMap<number, number>,
  handshakeTimeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS,
): GatewayListeners {
  const open = new Map<number, { server: net.Server; protocol: PortProtocol }>();
  // The same request path as a sidecar's outbound side, after the gateway's own admission.
  const dispatch = requestPath(rt);
  const h2 = createGatewayH2(rt, dispatch);
  const bound = new Map<number, string>();
  const connections = new WeakMap<object, TlsConnectionInfo>();
  let current: { cfg: CompiledProxyConfig; tls: Map<string, ServerTlsRuntime> } | undefined;
  const svid = (): SvidState | undefined => (rt.cert.ready ? rt.cert.current : undefined);

  const listen = (port: number, protocol: PortProtocol): Promise<net.Server> =>
    new Promise((resolve, reject) => {
      let server: net.Server;
      if (protocol === 'HTTP') {
        const http1 = http.createServer((req, res) => handleGateway(rt, dispatch, port, req, res, undefined));
        hardenServer(http1);
        checkConnectionsUnbound(http1);
        // HTTP/1.1 and h2c (prior knowledge) on one port.
        server = net.createServer((socket) => {
          socket.on('error', () => socket.destroy());
          dispatchByPreface(socket, (s) => http1.emit('connection', s), (s) => h2.serve(s, port));
        });
        drainOnClose(server, http1, { close() {} });
      } else {
        // Decrypted HTTPS connections are handed to this server; it never listens itself.
        const inner = http.createServer((req, res) => handleGateway(rt, dispatch, port, req, res, connections.get(req.socket)));
        hardenServer(inner);
        const deps = { rt, port, current: () => current, http: inner, h2: (s: Duplex, info: TlsConnectionInfo) => h2.serve(s, port, info), connections, handshakeTimeoutMs };
        server = net.createServer((socket) => handleTlsPortConnection(deps, socket, protocol));
      }
      server.once('error', reject);
      server.listen(publish.get(port) ?? port, bindHost, () => {
        server.removeListener('error', reject);
        const a = server.address();
        if (a && typeof a === 'object') bound.set(port, `${a.address}:${a.port}`);
        resolve(server);
      });
    });

  const close = (port: number): void => {
    open.get(port)?.server.close();
    open.delete(port);
    bound.delete(port);
  };

  return {
    async reconcile(cfg) {
      // Certificates first: one that cannot be loaded rejects the whole push, before any listener changes.
      const tlsContexts = buildChainTls(cfg, svid());
      const wanted = new Map((cfg.raw.gateway?.servers ?? []).map((s) => [s.port, s.protocol] as const));
      const opened: number[] = [];
      try {
        for (const [port, protocol] of wanted) {
          const prior = open.get(port);
          if (prior?.protocol === protocol) continue;
          if (prior) close(port);
          open.set(port, { server: await listen(port, protocol), protocol });
          opened.push(port);
        }
      } catch (err) {
        for (const port of opened) close(port);
        throw err;
      }
      for (const port of [...open.keys()]) if (!wanted.has(port)) close(port);
      for (const [server, t] of tlsContexts) if (t.problem !== undefined) rt.log.warn('gateway server cannot serve TLS', { server, problem: t.problem });
      current = { cfg, tls: tlsContexts };
    },
    rotate() {
      if (current) current = { cfg: current.cfg, tls: buildChainTls(current.cfg, svid()) };
    },
    addresses: () => Object.fromEntries([...bound].map(([k, v]) => [String(k), v])),
    async close() {
      h2.close();
      await Promise.all([...open.values()].map((s) => new Promise((r) => s.server.close(r))));
      open.clear();
    },
  };
}

function handleGateway(rt: ProxyRuntime, dispatch: Dispatch, port: number, req: http.IncomingMessage, res: http.ServerResponse, conn: TlsConnectionInfo | undefined): void {
  const started = performance.now();
  const authority = req.headers.host ?? '';
  const url = req.url ?? '';
  const finish: GatewayFinish = (status, upstream, reason, decision, service) => {
    rt.telemetry.record({ direction: 'gateway', method: req.method ?? '', authority, path: url, status, durationMs: performance.now() - started, upstream, destinationService: service, reason, ...callerOf(conn), ...authzLogFields(decision) });
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
    // A client certificate the server verified names the caller, as Istio's gateways do for ISTIO_MUTUAL.
    peer: conn?.peer,
    sni: undefined,
    destinationIp: conn?.localAddress ?? req.socket.localAddress ?? '',
    destinationPort: port,
    remoteIp: trustedClientAddress(req.headers['x-forwarded-for'], conn?.remoteAddress ?? req.socket.remoteAddress ?? '', cfg.raw.gateway?.numTrustedProxies ?? 0),
    onUnknownKey: (uris: string[]) => rt.requestJwksRefresh(uris),
  };
  admitRequest(ctx, req, res, url).then(
    (admitted) => {
      if ('status' in admitted) finish(admitted.status, undefined, admitted.reason, admitted.decision);
      else route(rt, dispatch, cfg, port, host.host, req, res, admitted, ctx.remoteIp, conn);
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
  conn: TlsConnectionInfo | undefined,
): void {
  // Over TLS only the routes of the server the SNI chose: a certificate for one host never reaches another
  // server's routes (Istio's separate route table per HTTPS server).
  const vh = conn === undefined ? cfg.virtualHost(port, host) : pickVirtualHost(conn.chain.virtualHosts, host);
  if (vh?.httpsRedirect === true) {
    redirectToHttps(res, host, admitted.path);
    rt.telemetry.record({ direction: 'gateway', method: req.method ?? '', authority: req.headers.host ?? '', path: admitted.path, status: 301, durationMs: 0, reason: 'httpsRedirect' });
    return;
  }
  const q = admitted.path.indexOf('?');
  const path = q < 0 ? admitted.path : admitted.path.slice(0, q);
  const query = q < 0 ? '' : admitted.path.slice(q + 1);
  const ex = new Http1Exchange(req, res, { authority: req.headers.host ?? '', path, query, port }, rt.telemetry, 'gateway');
  ex.cfg = cfg;
  // No virtual host for this Host: no routes and no default destination, so the chain answers 404.
  ex.routes = vh?.routes ?? [];
  ex.logFields = { ...callerOf(conn), ...authzLogFields(admitted.decision) };
  prepareGatewayForward(rt, cfg, ex, req.headers, { proto: conn === undefined ? 'http' : 'https', forwardedFor: forwardedFor(req, conn), clientAddress }, admitted);
  dispatch(ex, ex);
}

/**
 * The caller's verified identity (ISTIO_MUTUAL, or MUTUAL with a SPIFFE certificate): the access log's `peer`, and
 * the source of the gateway's metrics, so an egress gateway names who left for every external call.
 */
function callerOf(conn: TlsConnectionInfo | undefined): { peer?: string } {
  return conn?.peer === undefined ? {} : { peer: conn.peer.spiffeId };
}

/** Envoy's require_tls: 301 to the same host and path over https. */
function redirectToHttps(res: http.ServerResponse, host: string, path: string): void {
  res.writeHead(301, { location: `https://${host}${path}`, 'content-length': '0' });
  res.end();
}

function forwardedFor(req: http.IncomingMessage, conn: TlsConnectionInfo | undefined): string {
  const prior = req.headers['x-forwarded-for'];
  const remote = conn?.remoteAddress ?? req.socket.remoteAddress ?? '';
  return prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${remote}` : remote;
}
