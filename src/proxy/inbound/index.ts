/**
 * Inbound: what arrives for the app, top to bottom.
 *   first byte: TLS or plaintext → peer authentication by the port's PeerAuthentication mode
 *   (mTLS: chain to the trust bundle + exactly one SPIFFE ID) → target app port (from Istio's SNI, or the Host)
 *   → path normalisation → RequestAuthentication (JWT) → AuthorizationPolicy (CUSTOM, DENY, ALLOW)
 *   → LocalRateLimitPolicy (after authz, where Linkerd checks it: a request authz refuses spends no budget)
 *   → x-forwarded-client-cert set from the verified peer, any incoming one dropped → the app on the pod address
 * Opaque TCP ports skip HTTP: after mTLS, AuthorizationPolicy as TCP, then bytes piped to the app (tcp.ts).
 * http2/grpc ports take the same HTTP path per HTTP/2 stream (http2-inbound.ts), unless the caller negotiated
 * http/1.1 (the mesh's HTTP/1.1 clients): captured callers' bytes arrive through a tunnel that offers no ALPN.
 */
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledInbound } from '../config/compiled-config.js';
import type { PeerAuthnMode, PortProtocol } from '../../proxyconfig/types.js';
import { peerIdentityOf, xfccValue } from '../tls/peer-identity.js';
import type { PeerIdentity } from '../tls/peer-identity.js';
import { forward, upstreamHeaders } from '../http/forward.js';
import { sendProxyError } from '../http/proxy-error.js';
import { parseAuthority, requestTarget } from '../http/authority.js';
import { hardenServer } from '../http/harden-server.js';
import { hostFieldProblem, refuseMalformed, replaceHostWithTarget } from '../http/host-field.js';
import { replaySocket } from './replay-socket.js';
import { handleInboundTcp } from './tcp.js';
import { tlsPassthroughPort } from './tls-passthrough.js';
import { readFirstBytes } from '../capture/first-bytes.js';
import { createInboundH2 } from './http2-inbound.js';
import type { InboundH2 } from './http2-inbound.js';
import { admitRequest } from '../security/admit-request.js';
import { inboundFinish, inboundRecord, mayHaveBody } from './inbound-record.js';
import { withoutPeerWorkload } from '../telemetry/peer-header.js';
import { publishMeshTls } from '../telemetry/mesh-tls.js';
import { startHop } from '../telemetry/trace-context.js';
import { tracingFor } from '../telemetry/telemetry-policy.js';
import type { InboundRequestRecord } from './inbound-record.js';
import { inboundService } from './inbound-service.js';
import { LocalRateLimits } from '../ratelimit/local-rate-limits.js';
import { sendRateLimited } from '../ratelimit/rate-limited-reply.js';

interface InboundConnection {
  peer: PeerIdentity | undefined;
  /** The server name the caller asked for (AuthorizationPolicy `connection.sni`). */
  sni: string | undefined;
  /** App port named by the caller's SNI, when it sent one. */
  sniPort: number | undefined;
  /** Captured connections: the port the caller dialled at the pod, i.e. the app port. */
  capturedPort?: number | undefined;
}

const TLS_HANDSHAKE = 0x16;
/** A client that began a TLS handshake sends the rest of its ClientHello at once; the mTLS handshake allows as long. */
const CLIENT_HELLO_WAIT_MS = 10_000;
/** HTTP/2's connection preface (RFC 9113 §3.4): a plaintext caller speaking h2c with prior knowledge. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function isH2Port(protocol: PortProtocol | undefined): boolean {
  return protocol === 'http2' || protocol === 'grpc';
}

function startsH2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, H2_PREFACE.length);
  return n > 0 && chunk.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
}

export interface InboundListener {
  server: net.Server;
  /** Install a rotated certificate for new handshakes. */
  rotate(): void;
}

/**
 * `redirectedPort` (transparent capture): the port a redirected connection was dialled to, else undefined.
 * `rateLimits`: the buckets of the LocalRateLimitPolicies, which outlive every config push (a monotonic clock by default).
 */
export function createInboundListener(
  rt: ProxyRuntime,
  redirectedPort?: (socket: net.Socket) => number | undefined,
  rateLimits: LocalRateLimits = new LocalRateLimits(() => performance.now()),
): InboundListener {
  const connections = new WeakMap<net.Socket, InboundConnection>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void =>
    handleInbound(rt, rateLimits, connections.get(req.socket), req, res);

  const current = rt.cert.current;
  const mtls = tls.createServer({
    key: current.keyPem,
    cert: current.certChainPem.join('\n'),
    ca: current.trustBundlePem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ALPNProtocols: ['http/1.1'],
    handshakeTimeout: 10_000,
  });
  // One HTTP server parses both verified mTLS sockets and (PERMISSIVE) plaintext ones.
  const http1 = http.createServer(handler);
  hardenServer(http1);
  const h2 = createInboundH2(rt, rateLimits);

  mtls.on('secureConnection', (socket: tls.TLSSocket) => {
    publishMeshTls('inbound', rt.cert.spiffeId, socket);
    const peer = peerIdentityOf(socket);
    if (!peer) {
      rt.log.warn('inbound mTLS refused: peer certificate has no single SPIFFE ID');
      socket.destroy();
      return;
    }
    const inbound = rt.config?.inbound ?? undefined;
    const sni = typeof socket.servername === 'string' ? socket.servername : undefined;
    const sniPort = sniAppPort(inbound, sni);
    // An app's own TLS (a port named https or tls) is as opaque to the sidecar as TCP: piped, never parsed.
    const opaque = sniPort === undefined ? undefined : inbound?.protocols.get(sniPort);
    if (sniPort !== undefined && (opaque === 'tcp' || opaque === 'tls')) {
      handleInboundTcp(rt, socket, peer, sni, sniPort);
      return;
    }
    if (sniPort !== undefined && isH2Port(inbound?.protocols.get(sniPort)) && socket.alpnProtocol !== 'http/1.1') {
      h2.serve(socket, { peer, sni, appPort: sniPort });
      return;
    }
    connections.set(socket, { peer, sni, sniPort });
    http1.emit('connection', socket);
  });
  mtls.on('tlsClientError', (err) => rt.log.warn('inbound TLS handshake failed', { error: err.message }));

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const capturedPort = redirectedPort?.(socket);
    if (rt.config?.inbound?.strictEverywhere !== false) {
      // STRICT (the default): hand the socket straight to TLS; a plaintext caller fails the handshake.
      mtls.emit('connection', socket);
      return;
    }
    const inbound = rt.config?.inbound;
    if (capturedPort !== undefined && inbound?.protocols.get(capturedPort) === 'tcp' && (inbound.modes.get(capturedPort) ?? inbound.defaultMode) === 'DISABLE') {
      // A DISABLE tcp port takes plaintext only, so no first byte is awaited: server-first apps (MySQL, SMTP) greet.
      handleInboundTcp(rt, socket, undefined, undefined, capturedPort);
      return;
    }
    socket.setTimeout(30_000, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (chunk[0] === TLS_HANDSHAKE) {
        // The whole ClientHello decides between the mesh's mTLS and the app's own TLS (tls-passthrough.ts).
        socket.unshift(chunk);
        readFirstBytes(socket, CLIENT_HELLO_WAIT_MS, (head, first) => {
          const inbound = rt.config?.inbound;
          const sni = first.protocol === 'tls' ? first.sni : undefined;
          const passthroughPort = inbound ? tlsPassthroughPort(inbound, sni, capturedPort, sniAppPort(inbound, sni)) : undefined;
          if (passthroughPort === undefined) {
            mtls.emit('connection', replaySocket(socket, head));
            return;
          }
          socket.unshift(head);
          handleInboundTcp(rt, socket, undefined, sni, passthroughPort);
        });
        socket.resume();
        return;
      }
      const inbound = rt.config?.inbound;
      if (capturedPort !== undefined && inbound && isH2Port(inbound.protocols.get(capturedPort)) && startsH2Preface(chunk)) {
        handlePlaintextH2(rt, inbound, h2, replaySocket(socket, chunk), capturedPort);
        return;
      }
      socket.unshift(chunk);
      if (capturedPort !== undefined && inbound?.protocols.get(capturedPort) === 'tcp') {
        // Plaintext dialled straight at an opaque TCP port: piped as bytes if its mode admits plaintext.
        handlePlaintextTcp(rt, inbound, socket, capturedPort);
        return;
      }
      connections.set(socket, { peer: undefined, sni: undefined, sniPort: undefined, capturedPort });
      http1.emit('connection', socket);
      socket.resume();
    });
  });

  return {
    server,
    rotate() {
      const s = rt.cert.current;
      mtls.setSecureContext({ key: s.keyPem, cert: s.certChainPem.join('\n'), ca: s.trustBundlePem });
    },
  };
}

function handlePlaintextTcp(rt: ProxyRuntime, inbound: CompiledInbound, socket: net.Socket, appPort: number): void {
  const mode = inbound.modes.get(appPort) ?? inbound.defaultMode;
  if (mode === 'STRICT') {
    rt.log.warn('inbound refused by PeerAuthentication', { port: appPort, mode, mtls: false });
    socket.destroy();
    return;
  }
  handleInboundTcp(rt, socket, undefined, undefined, appPort);
}

/** Plaintext h2c dialled straight at an http2/grpc port: served without a peer if the port's mode admits plaintext. */
function handlePlaintextH2(rt: ProxyRuntime, inbound: CompiledInbound, h2: InboundH2, socket: Duplex, appPort: number): void {
  const mode = inbound.modes.get(appPort) ?? inbound.defaultMode;
  if (mode === 'STRICT') {
    rt.log.warn('inbound refused by PeerAuthentication', { port: appPort, mode, mtls: false });
    socket.destroy();
    return;
  }
  h2.serve(socket, { peer: undefined, sni: undefined, appPort });
}

/** Istio's SNI for mTLS between sidecars, `outbound_.<port>_._.<host>`, names the service port; map it to the app. */
function sniAppPort(inbound: CompiledInbound | undefined, sni: string | undefined): number | undefined {
  if (!inbound || !sni || !sni.startsWith('outbound_.')) return undefined;
  const rest = sni.slice('outbound_.'.length);
  const sep = rest.indexOf('_._.');
  if (sep < 0) return undefined;
  return inbound.targetPorts.get(`${rest.slice(sep + 4)}:${rest.slice(0, sep)}`);
}

/** Plaintext callers name only a Host: a service port maps to its app port, else the port must be an app port. */
function hostAppPort(inbound: CompiledInbound, hostHeader: string | undefined): number | undefined {
  const a = hostHeader ? parseAuthority(hostHeader) : undefined;
  if (a?.port !== undefined) {
    return inbound.targetByServicePort.get(a.port) ?? (inbound.modes.has(a.port) ? a.port : undefined);
  }
  return inbound.appPorts.length === 1 ? inbound.appPorts[0] : inbound.targetByServicePort.get(80);
}

/** A captured caller dialled the app port itself; any other port of the pod has nothing behind it. */
function capturedAppPort(inbound: CompiledInbound, port: number): number | undefined {
  return inbound.appPorts.includes(port) || inbound.modes.has(port) ? port : undefined;
}

function handleInbound(
  rt: ProxyRuntime,
  rateLimits: LocalRateLimits,
  conn: InboundConnection | undefined,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const cfg = rt.config;
  const inbound = cfg?.inbound;
  const target = requestTarget(req.url ?? '', req.headers.host);
  const authority = target?.authority ?? '';
  const rawPath = target?.path ?? req.url ?? '';
  const record: InboundRequestRecord = inboundRecord(req.method ?? '', authority, rawPath, conn?.peer?.spiffeId, req.headers, mayHaveBody(req.headers) ? req : undefined);
  const finish = inboundFinish(rt, record);
  const malformed = hostFieldProblem(req);
  if (malformed) {
    refuseMalformed(res, malformed);
    finish(400, malformed);
    return;
  }
  if (!cfg || !inbound || !conn) {
    sendProxyError(res, 503, 'proxy has no inbound configuration yet');
    finish(503);
    return;
  }
  if (!target) {
    sendProxyError(res, 400, 'bad request: no request target or Host');
    finish(400);
    return;
  }
  // Policy reads the Host: it must be the authority the app will be sent.
  replaceHostWithTarget(req, authority);
  const appPort = conn.sniPort ?? (conn.capturedPort === undefined ? hostAppPort(inbound, authority) : capturedAppPort(inbound, conn.capturedPort));
  if (appPort === undefined) {
    sendProxyError(res, 404, `no app port for "${authority}"`);
    finish(404);
    return;
  }
  record.service = inboundService(cfg, inbound, appPort, conn.sni, authority);
  record.appPort = appPort;
  const mode: PeerAuthnMode = inbound.modes.get(appPort) ?? inbound.defaultMode;
  if ((conn.peer === undefined && mode === 'STRICT') || (conn.peer !== undefined && mode === 'DISABLE')) {
    // Istio refuses at the transport: a plaintext caller of a STRICT port sees its connection reset.
    rt.log.warn('inbound refused by PeerAuthentication', { port: appPort, mode, mtls: conn.peer !== undefined });
    finish(0, `peer authentication ${mode}`);
    req.socket.destroy();
    return;
  }
  const ctx = {
    cfg,
    pools: rt.pools,
    peer: conn.peer,
    sni: conn.sni,
    destinationIp: rt.podIP,
    destinationPort: appPort,
    onUnknownKey: (uris: string[]) => rt.requestJwksRefresh(uris),
  };
  admitRequest(ctx, req, res, rawPath).then(
    (admitted) => {
      if ('status' in admitted) {
        finish(admitted.status, admitted.reason, admitted.decision);
        return;
      }
      record.rateLimit = rateLimits.check(inbound.rateLimits, appPort, conn.peer?.spiffeId);
      if (record.rateLimit) {
        sendRateLimited(res);
        finish(429, 'local_rate_limited', admitted.decision);
        return;
      }
      let extra = conn.peer ? ['x-forwarded-client-cert', xfccValue(rt.cert.spiffeId, conn.peer), ...admitted.addHeaders] : admitted.addHeaders;
      // The app sees this hop's trace context, so its own calls become children of this span.
      record.trace = startHop(tracingFor(cfg.raw, 'server'), req.headers, rt.random);
      if (record.trace) extra = [...extra, ...record.trace.headers];
      const pool = rt.pools.get({ address: rt.podIP, port: appPort });
      // The caller's workload name is for this proxy's telemetry, not for the app.
      forward(req, res, pool, admitted.path, upstreamHeaders(req, authority, extra, withoutPeerWorkload(admitted.removeHeaders, record.trace !== undefined)), (d) =>
        finish(d.status, d.error, admitted.decision, d),
      );
    },
    (err: unknown) => {
      rt.log.warn('inbound request failed in the proxy', { error: String(err) });
      sendProxyError(res, 500, 'internal proxy error');
      finish(500, String(err));
    },
  );
}
