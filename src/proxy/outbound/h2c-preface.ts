/**
 * Which protocol an app speaks on a connection to the sidecar's HTTP listeners: HTTP/2 with prior knowledge starts
 * with the connection preface (RFC 9113 §3.4), anything else is taken as HTTP/1.1. One read decides; the bytes are
 * replayed to the chosen server (HTTP/2 through a small replay stream: node's HTTP/2 reads the socket's native
 * handle and would not see bytes pushed back with `unshift`).
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { replaySocket } from '../inbound/replay-socket.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const SNIFF_WAIT_MS = 30_000;

/** The first bytes could be the start of the preface (a short first read is judged by what it has). */
export function startsH2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return n > 0 && chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

export function dispatchByPreface(socket: net.Socket, http1: (socket: net.Socket) => void, h2: (stream: Duplex) => void): void {
  socket.setTimeout(SNIFF_WAIT_MS, () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    socket.pause();
    socket.setTimeout(0);
    if (startsH2Preface(chunk)) {
      h2(replaySocket(socket, chunk));
      return;
    }
    socket.unshift(chunk);
    http1(socket);
    socket.resume();
  });
}
