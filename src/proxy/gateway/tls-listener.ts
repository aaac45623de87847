/**
 * A gateway port whose servers speak TLS (HTTPS, TLS) or TCP, top to bottom:
 *   ClientHello read (bounded in bytes and time) → chain by SNI (gateway-chains.ts; none: closed)
 *   → PASSTHROUGH: tls routes by SNI, the hello and everything after go on untouched
 *   → terminated: that server's certificate and client-certificate rules (server-tls.ts), then its HTTP routes
 *     (HTTPS: ALPN offers h2 and http/1.1; each HTTP/2 stream or HTTP/1.1 request goes into the gateway's request
 *     path) or its tcp routes (TLS)
 *   TCP ports skip the hello: their one chain's tcp routes.
 * Node's TLS reads the socket's own handle, so the bytes read to choose the chain are replayed through a stream.
 */
import type http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { parseClientHello } from '../capture/client-hello.js';
import { replaySocket } from '../inbound/replay-socket.js';
import { chainsOf, selectChain } from './gateway-chains.js';
import type { CompiledChain } from './gateway-chains.js';
import { HTTPS_ALPN, buildServerTls } from './server-tls.js';
import type { ServerTlsRuntime } from './server-tls.js';
import { forwardL4 } from './l4-forward.js';
import { peerIdentityOf } from '../tls/peer-identity.js';
import type { PeerIdentity } from '../tls/peer-identity.js';

/** What the HTTP side needs of a connection that arrived over TLS. */
export interface TlsConnectionInfo {
  chain: CompiledChain;
  remoteAddress: string;
  localAddress: string;
  sni: string | undefined;
  /** A verified client certificate's SPIFFE identity (ISTIO_MUTUAL, or MUTUAL with a SPIFFE certificate): `source.principal` for authorization. */
  peer: PeerIdentity | undefined;
}

export interface TlsPortDeps {
  rt: ProxyRuntime;
  port: number;
  /** The config and the TLS of its servers, as the last reconcile built them. */
  current(): { cfg: CompiledProxyConfig; tls: ReadonlyMap<string, ServerTlsRuntime> } | undefined;
  /** Where decrypted HTTPS connections are served: HTTP/1.1, or HTTP/2 when ALPN chose `h2`. */
  http: http.Server;
  h2: (socket: tls.TLSSocket, info: TlsConnectionInfo) => void;
  connections: WeakMap<object, TlsConnectionInfo>;
  /** Bound on the ClientHello and the handshake together (Envoy's listener filter and transport socket timeouts). */
  handshakeTimeoutMs: number;
}

/** The TLS servers of one config: one per terminated chain, keyed by the chain's `server`. */
export function buildChainTls(cfg: CompiledProxyConfig, svid: Parameters<typeof buildServerTls>[1]): Map<string, ServerTlsRuntime> {
  const out = new Map<string, ServerTlsRuntime>();
  for (const server of cfg.raw.gateway?.servers ?? []) {
    for (const chain of server.chains ?? []) if (chain.tls) out.set(chain.server, buildServerTls(chain.tls, svid));
  }
  return out;
}

export function handleTlsPortConnection(d: TlsPortDeps, socket: net.Socket, protocol: 'HTTPS' | 'TLS' | 'TCP'): void {
  const current = d.current();
  const remoteAddress = socket.remoteAddress ?? '';
  const localAddress = socket.localAddress ?? '';
  socket.on('error', () => socket.destroy());
  if (current === undefined) return void socket.destroy();
  if (protocol === 'TCP') {
    const chain = chainsOf(current.cfg, d.port)[0];
    if (chain === undefined) return void socket.destroy();
    forwardL4(d.rt, current.cfg, chain.tcp, { client: socket, head: Buffer.alloc(0), request: { sni: undefined, destinationAddress: localAddress, destinationPort: d.port }, server: chain.raw.server, sourceIp: remoteAddress, peer: undefined });
    return;
  }
  // One timer bounds the hello and the handshake: a client that trickles bytes (slowloris) is cut off all the same.
  const timer = setTimeout(() => socket.destroy(), d.handshakeTimeoutMs);
  timer.unref();
  let head: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const hello = parseClientHello(head);
    if (hello.kind === 'incomplete') return;
    socket.removeListener('data', onData);
    socket.pause();
    // Not TLS, or a malformed or oversized ClientHello (parseClientHello bounds it at 64 KiB): closed, as Envoy does.
    if (hello.kind !== 'hello') return refuse(hello.kind === 'not-tls' ? 'not a TLS ClientHello' : 'malformed or oversized ClientHello');
    route(hello.sni);
  };
  const refuse = (reason: string, sni?: string): void => {
    clearTimeout(timer);
    socket.destroy();
    // A connection refused before any request: counted as a TCP connection, its reason in the access log.
    d.rt.telemetry.record({ direction: 'gateway', method: 'TCP', authority: sni ?? '', path: '', status: 0, durationMs: 0, reason });
  };
  const route = (sni: string | undefined): void => {
    const chain = selectChain(chainsOf(current.cfg, d.port), sni);
    if (chain === undefined) return refuse(sni === undefined ? 'no SNI and no server for "*"' : `no server for SNI ${sni}`, sni);
    if (chain.raw.tls === undefined) {
      clearTimeout(timer);
      socket.resume();
      forwardL4(d.rt, current.cfg, chain.tlsRoutes, { client: socket, head, request: { sni, destinationAddress: localAddress, destinationPort: d.port }, server: chain.raw.server, sourceIp: remoteAddress, peer: undefined });
      return;
    }
    const serverTls = current.tls.get(chain.raw.server);
    if (serverTls?.context === undefined) return refuse(`${chain.raw.server}: ${serverTls?.problem ?? 'no certificate'}`, sni);
    const https = chain.raw.virtualHosts !== undefined || protocol === 'HTTPS';
    const tlsSocket = new tls.TLSSocket(replaySocket(socket, head) as net.Socket, {
      isServer: true,
      secureContext: serverTls.context,
      requestCert: serverTls.requestCert,
      rejectUnauthorized: serverTls.rejectUnauthorized,
      ...(https ? { ALPNProtocols: [...HTTPS_ALPN] } : {}),
    });
    let secure = false;
    tlsSocket.on('error', (err) => {
      // After the handshake an error is the connection's end, reported by whoever serves it.
      if (!secure) refuse(`TLS handshake: ${err.message}`, sni);
      tlsSocket.destroy();
    });
    tlsSocket.once('secure', () => {
      secure = true;
      clearTimeout(timer);
      const denied = serverTls.checkPeer(tlsSocket);
      if (denied !== undefined) {
        tlsSocket.destroy();
        return refuse(denied, sni);
      }
      const peer = serverTls.requestCert ? peerIdentityOf(tlsSocket) : undefined;
      if (https) {
        const info = { chain, remoteAddress, localAddress, sni, peer };
        if (tlsSocket.alpnProtocol === 'h2') {
          // node clears `secureConnecting` only on sockets a tls.Server made; its HTTP/2 session would otherwise wait
          // for a 'secureConnect' that a server-side socket never emits.
          (tlsSocket as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
          d.h2(tlsSocket, info);
          return;
        }
        d.connections.set(tlsSocket, info);
        d.http.emit('connection', tlsSocket);
      } else {
        forwardL4(d.rt, current.cfg, chain.tcp, { client: tlsSocket, head: Buffer.alloc(0), request: { sni, destinationAddress: localAddress, destinationPort: d.port }, server: chain.raw.server, sourceIp: remoteAddress, peer });
      }
    });
  };
  socket.on('data', onData);
}
