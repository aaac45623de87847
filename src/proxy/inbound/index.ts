/**
 * Inbound: what arrives for the app, top to bottom.
 *   first byte: TLS or plaintext → peer authentication by the port's PeerAuthentication mode
 *   (mTLS: chain to the trust bundle + exactly one SPIFFE ID) → target app port (from Istio's SNI, or the Host)
 *   → path normalisation → RequestAuthentication (JWT) → AuthorizationPolicy (CUSTOM, DENY, ALLOW)
 *   → LocalRateLimitPolicy (after authz, where Linkerd checks it: a request authz refuses spends no budget)
 *   → x-forwarded-client-cert set from the verified peer, any incoming one dropped → the app on the pod address
 * This file decides per connection (TLS or plaintext, which port, which protocol); an HTTP/1.1 request takes that
 * path in http1-inbound.ts.
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
import type { PortProtocol } from '../../proxyconfig/types.js';
import { peerIdentityOf } from '../tls/peer-identity.js';
import { hardenServer } from '../http/harden-server.js';
import { replaySocket } from './replay-socket.js';
import { handleInboundTcp } from './tcp.js';
import { tlsPassthroughPort } from './tls-passthrough.js';
import { readFirstBytes } from '../capture/first-bytes.js';
import { handleInbound } from './http1-inbound.js';
import type { InboundConnection } from './http1-inbound.js';
import { createInboundH2 } from './http2-inbound.js';
import type { InboundH2 } from './http2-inbound.js';
import { publishMeshTls } from '../telemetry/mesh-tls.js';
import { LocalRateLimits } from '../ratelimit/local-rate-limits.js';

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
