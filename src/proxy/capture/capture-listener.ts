/**
 * The sidecar's listener for the app's captured outgoing connections (iptables REDIRECT to 127.0.0.1). Each
 * connection's original destination is read once, then the connection is served by the ordinary outbound HTTP
 * server with the request's authority completed from it (captured-authority.ts).
 */
import net from 'node:net';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { createOutboundServer } from '../outbound/index.js';
import { capturedAuthority } from './captured-authority.js';
import type { ServiceVips } from './captured-authority.js';
import { originalDst } from './original-dst.js';
import type { OriginalDst } from './original-dst.js';

export function createCaptureListener(rt: ProxyRuntime, vips: ServiceVips, lookup: (socket: net.Socket) => OriginalDst | undefined = originalDst): net.Server {
  const destinations = new WeakMap<net.Socket, OriginalDst>();
  const http = createOutboundServer(rt, (req) => {
    const dst = destinations.get(req.socket);
    return dst === undefined ? req.headers.host : capturedAuthority(req.headers.host, dst, vips);
  });
  return net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    const dst = lookup(socket);
    if (dst === undefined) {
      // Without the original destination there is no telling where the app meant to go.
      rt.log.warn('captured connection without an original destination; closed');
      socket.destroy();
      return;
    }
    destinations.set(socket, dst);
    http.emit('connection', socket);
  });
}
