/**
 * The sidecar's listener for the app's captured outgoing connections (iptables REDIRECT to 127.0.0.1), Istio's
 * outbound listener on 15001. Each connection is dispatched once, by its original destination:
 *   a mesh service's virtual address → that port's protocol: http, http2 and grpc to the outbound HTTP servers
 *     with the request's authority completed from the address (captured-authority.ts), HTTP/1.1 or, when the app
 *     opens with HTTP/2's preface, h2c with each stream through the request path; tcp/tls by the port's tcp/tls
 *     routes (tls ones by the ClientHello's SNI) through the mTLS tunnel
 *   any other address → its first bytes (first-bytes.ts): HTTP to the outbound HTTP server (ServiceEntry by Host,
 *     else the traffic policy), TLS by SNI and other TCP by address to a ServiceEntry, else the traffic policy
 *     (captured-opaque.ts)
 */
import net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { createOutboundServers } from '../outbound/index.js';
import { dispatchByPreface } from '../outbound/h2c-preface.js';
import { capturedAuthority } from './captured-authority.js';
import { FIRST_BYTES_WAIT_MS, readFirstBytes } from './first-bytes.js';
import { handleCapturedOpaque, tunnelToMeshService } from './captured-opaque.js';
import { originalDst } from './original-dst.js';
import type { OriginalDst } from './original-dst.js';

export interface CaptureOptions {
  /** Where a connection was dialled; the kernel's SO_ORIGINAL_DST unless a test says otherwise. */
  lookup?: (socket: net.Socket) => OriginalDst | undefined;
  /** How long a silent client is waited for before it is taken as server-first TCP. */
  firstBytesWaitMs?: number;
}

export function createCaptureListener(rt: ProxyRuntime, options: CaptureOptions = {}): net.Server {
  const lookup = options.lookup ?? originalDst;
  const waitMs = options.firstBytesWaitMs ?? FIRST_BYTES_WAIT_MS;
  const destinations = new WeakMap<net.Socket, OriginalDst>();
  const serviceAt = (address: string): string | undefined => rt.config?.serviceAt(address)?.host;
  const { http1: http, h2 } = createOutboundServers(rt, {
    authorityOf: (req) => {
      const dst = destinations.get(req.socket);
      return dst === undefined ? req.headers.host : capturedAuthority(req.headers.host, dst, serviceAt);
    },
    dialledOf: (req) => destinations.get(req.socket),
  });
  const toHttp = (socket: net.Socket, head?: Buffer): void => {
    if (head && head.length > 0) socket.unshift(head);
    http.emit('connection', socket);
    socket.resume();
  };
  return net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    const dst = lookup(socket);
    if (dst === undefined) {
      // Without the original destination there is no telling where the app meant to go.
      rt.log.warn('captured connection without an original destination; closed');
      socket.destroy();
      return;
    }
    destinations.set(socket, dst);
    const cfg = rt.config;
    // A service's address; or, for a PASSTHROUGH service, one of its endpoints dialled directly.
    const balanced = cfg?.serviceAt(dst.address)?.ports.get(dst.port) ?? cfg?.byPassthroughEndpoint.get(`${dst.address}:${dst.port}`);
    if (cfg && balanced) {
      if (balanced.protocol === 'http' || balanced.protocol === 'http2' || balanced.protocol === 'grpc') {
        dispatchByPreface(socket, (s) => toHttp(s), (s) => h2.serve(s, dst));
      } else tunnelToMeshService(rt, cfg, socket, balanced, dst, waitMs);
      return;
    }
    readFirstBytes(socket, waitMs, (head, first) => {
      if (first.protocol === 'http') return toHttp(socket, head);
      const now = rt.config;
      if (!now) {
        rt.log.warn('captured connection before any configuration; closed', { destination: `${dst.address}:${dst.port}` });
        socket.destroy();
        return;
      }
      handleCapturedOpaque(rt, now, socket, dst, head, first);
    });
  });
}
