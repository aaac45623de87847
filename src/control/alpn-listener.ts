/**
 * The control plane's one TLS listener, split by ALPN: PUSH_ALPN goes to the push streams (a proxy's connection
 * costs TLS and nothing more), `h2` to an HTTP/2 server and `http/1.1` (or no ALPN) to an HTTP/1.1 server, both
 * serving the API and certificate signing as one HTTP/2 server with HTTP/1 fallback did.
 *
 * Why a tls.Server in front: Node's Http2SecureServer sets its own ALPN list (`h2`, `http/1.1`) and, with HTTP/1
 * allowed, opens an HTTP/2 session for any other protocol, so it cannot offer a third id; without HTTP/1 its
 * 'unknownProtocol' event would take the CLI's HTTP/1.1 away. Handing a negotiated socket to another server with
 * `emit('connection', socket)` is the way Node documents for both http.Server and Http2Server (any Duplex); emitting
 * 'secureConnection' on an Http2SecureServer instead breaks its HTTP/1 fallback, which looks up its response class
 * on the socket's own server. Every route checks its own credential, so the listener asks for a client certificate
 * and lets handshakes without one through.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { constants } from 'node:crypto';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { PUSH_ALPN } from '../push/protocol.js';

export interface AlpnListenerOptions {
  key: string;
  cert: string;
  /** Roots client certificates are verified against (the mesh's trust bundle). */
  ca: string;
  /** An API or signing request, over HTTP/2 or HTTP/1.1. */
  onRequest: (req: http2.Http2ServerRequest | http.IncomingMessage, res: http2.Http2ServerResponse | http.ServerResponse) => void;
  /** A connection negotiated for the push stream. */
  onPushStream: (socket: TLSSocket) => void;
}

export interface AlpnListener {
  /** Listens on the TLS port; the HTTP servers only ever get sockets handed to them. */
  readonly tls: tls.Server;
  /** New handshakes use the new certificate (rotation). */
  setSecureContext(o: { key: string; cert: string; ca: string }): void;
  listen(port: number, host: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * No session resumption: a resumed session skips the client certificate, so a caller's identity would be the one
 * it proved on an earlier connection, from a certificate that may since have been rotated away or expired. Every
 * connection to the control plane proves its current one.
 */
const NO_RESUMPTION = constants.SSL_OP_NO_TICKET;

/** What the listener speaks, in its order of preference (the server's order decides, as with an ALPN list). */
const ALPN_PREFERENCE: readonly string[] = ['h2', 'http/1.1', PUSH_ALPN];

/**
 * Picks the protocol by callback, not by an ALPN list: Node copies a server's list into a small pooled Buffer for
 * every connection, kept as long as the connection, and each copy held one of Node's 8 KiB Buffer pool slabs alive
 * (with 2,000 proxies connected, 585 slabs). A client that offers only protocols the listener does not speak gets
 * the fatal `no_application_protocol` alert (RFC 7301, 3.2); one that offers none is served HTTP/1.1, as before.
 */
export function chooseAlpn({ protocols }: { protocols: string[] }): string | undefined {
  return ALPN_PREFERENCE.find((p) => protocols.includes(p));
}

export function alpnListener(o: AlpnListenerOptions): AlpnListener {
  const h2 = http2.createServer();
  const h1 = http.createServer();
  h2.on('request', o.onRequest);
  h1.on('request', o.onRequest);
  h2.on('sessionError', () => undefined);
  const server = tls.createServer({
    key: o.key,
    cert: o.cert,
    ca: o.ca,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNCallback: chooseAlpn,
    minVersion: 'TLSv1.2',
    secureOptions: NO_RESUMPTION,
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    if (socket.alpnProtocol === PUSH_ALPN) o.onPushStream(socket);
    else if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else h1.emit('connection', socket);
  });
  return {
    tls: server,
    setSecureContext: (c) => server.setSecureContext({ key: c.key, cert: c.cert, ca: c.ca, secureOptions: NO_RESUMPTION }),
    listen: (port, host) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          // Node starts enforcing HTTP/1.1's headers and request timeouts (against slow clients) on 'listening'.
          h1.emit('listening');
          resolve();
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        h1.close(() => undefined);
        server.close(() => resolve());
      }),
  };
}
