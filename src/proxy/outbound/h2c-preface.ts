/**
 * Which protocol an app speaks on a connection to the sidecar's HTTP listeners: HTTP/2 with prior knowledge starts
 * with the connection preface (RFC 9113 §3.4), anything else is taken as HTTP/1.1. One read decides; the bytes are
 * pushed back with `unshift` for the chosen server (node's HTTP/2 session hands a socket's buffered bytes to
 * nghttp2 before it reads the native handle, so no JS stream sits in between).
 */
import type http from 'node:http';
import type net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SNIFF_WAIT_MS = 30_000;

/** The first bytes could be the start of the preface (a short first read is judged by what it has). */
export function startsH2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return n > 0 && chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

/**
 * An http.Server fed connections by another listener never listens itself, and node starts the checks behind
 * headersTimeout and requestTimeout (slowloris) only on 'listening': start them here.
 */
export function checkConnectionsUnbound(http1: http.Server): void {
  http1.emit('listening');
}

/**
 * Closing the listener drains what it handed on, as http.Server.close does for its own: idle HTTP/1.1 keep-alive
 * connections close at once, HTTP/2 sessions get GOAWAY and close when their streams end.
 */
export function drainOnClose(listener: net.Server, http1: http.Server, h2: { close(): void }): void {
  const close = listener.close.bind(listener);
  listener.close = (cb?: (err?: Error) => void) => {
    close(cb);
    // http.Server.close on a server that never bound: closes idle keep-alive connections, stops the checks above.
    http1.close();
    h2.close();
    return listener;
  };
}

export function dispatchByPreface(socket: net.Socket, http1: (socket: net.Socket) => void, h2: (socket: net.Socket) => void): void {
  socket.setTimeout(SNIFF_WAIT_MS, () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.pause();
    socket.setTimeout(0);
    socket.unshift(chunk);
    if (startsH2Preface(chunk)) {
      h2(socket);
      return;
    }
    http1(socket);
    socket.resume();
  });
}
