import type net from 'node:net';
import { Duplex } from 'node:stream';

/**
 * A stream that replays bytes already read from a socket, then the socket's own. Needed to sniff TLS on a port
 * that also accepts plaintext (PERMISSIVE): node's TLS layer reads the socket's native handle directly and would
 * never see bytes pushed back with `unshift`. Only PERMISSIVE connections pay for this JS hop.
 */
export function replaySocket(socket: net.Socket, first: Buffer): Duplex {
  let pending: Buffer | null = first;
  const stream = new Duplex({
    read() {
      if (pending) {
        const p = pending;
        pending = null;
        this.push(p);
      }
      socket.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    destroy(err, cb) {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  socket.on('data', (c: Buffer) => {
    if (!stream.push(c)) socket.pause();
  });
  socket.on('end', () => stream.push(null));
  socket.on('close', () => stream.destroy());
  Object.defineProperty(stream, 'remoteAddress', { value: socket.remoteAddress });
  Object.defineProperty(stream, 'remotePort', { value: socket.remotePort });
  return stream;
}
