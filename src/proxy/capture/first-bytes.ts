/**
 * What a captured connection to an address the mesh does not know speaks, judged from its first bytes as Envoy's
 * tls_inspector and http_inspector do: a TLS ClientHello (and its SNI), an HTTP/1 request line, or anything else.
 * A client that sends nothing (a server-first protocol such as SMTP or MySQL) is opaque TCP once the wait is over.
 */
import type net from 'node:net';
import { MAX_CLIENT_HELLO_BYTES, looksLikeTls, parseClientHello } from './client-hello.js';

export type FirstBytes = { protocol: 'http' } | { protocol: 'tls'; sni: string | undefined } | { protocol: 'tcp' };

/** How long a silent client is waited for before its connection is taken as server-first TCP. */
export const FIRST_BYTES_WAIT_MS = 1_000;

const MAX_METHOD = 24;
/** Envoy's http_inspector looks no further for the end of the request line. */
const MAX_REQUEST_LINE = 8192;
/** `METHOD SP request-target SP HTTP/1.x`, the line without its LF (RFC 9112 §3). */
const REQUEST_LINE = /^[A-Z]{1,24} [\x21-\x7e]+ HTTP\/1\.[01]\r?$/;

/** Undefined: more bytes are needed to tell. */
export function classifyFirstBytes(buf: Buffer): FirstBytes | undefined {
  if (buf.length === 0) return undefined;
  if (looksLikeTls(buf)) {
    const hello = parseClientHello(buf);
    if (hello.kind === 'hello') return { protocol: 'tls', sni: hello.sni };
    if (hello.kind === 'invalid') return { protocol: 'tls', sni: undefined };
    if (hello.kind === 'incomplete') return undefined;
  }
  // HTTP/1 is a whole request line, as Envoy's http_inspector requires: a method token (upper case in every method in
  // use), a target and `HTTP/1.x`. A method and a space alone are not enough: client-first protocols whose first
  // word is upper case (Redis inline `SET k v`, IRC `NICK n`) are TCP and must reach their TCP ServiceEntry.
  let i = 0;
  for (; i < buf.length && i <= MAX_METHOD; i++) {
    const c = buf[i]!;
    if (c === 0x20) break;
    if (c < 0x41 || c > 0x5a) return { protocol: 'tcp' };
  }
  if (i === 0 || i > MAX_METHOD) return { protocol: 'tcp' };
  if (i === buf.length) return undefined;
  const lf = buf.indexOf(0x0a, i);
  if (lf < 0 || lf > MAX_REQUEST_LINE) return lf < 0 && buf.length < MAX_REQUEST_LINE ? undefined : { protocol: 'tcp' };
  return REQUEST_LINE.test(buf.toString('latin1', 0, lf)) ? { protocol: 'http' } : { protocol: 'tcp' };
}

/** What to decide when no more bytes will come in time: a started TLS hello is TLS without a name, else TCP. */
function settle(buf: Buffer): FirstBytes {
  return looksLikeTls(buf) ? { protocol: 'tls', sni: undefined } : { protocol: 'tcp' };
}

/**
 * Read until the protocol is known, the wait is over or the client half-closes; then `done` with the bytes read,
 * the socket paused and no listeners of ours left on it. A client that closes first is never handed on.
 */
export function readFirstBytes(socket: net.Socket, waitMs: number, done: (head: Buffer, first: FirstBytes) => void): void {
  let head: Buffer = Buffer.alloc(0);
  let finished = false;
  const stop = (): void => {
    finished = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onClose);
  };
  const finish = (first: FirstBytes): void => {
    if (finished) return;
    stop();
    socket.pause();
    done(head, first);
  };
  // A client gone (reset) before anything was decided needs no destination.
  const onClose = (): void => {
    if (!finished) stop();
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const first = classifyFirstBytes(head);
    if (first) finish(first);
    else if (head.length >= MAX_CLIENT_HELLO_BYTES) finish(settle(head));
  };
  const onEnd = (): void => finish(settle(head));
  const timer = setTimeout(() => finish(settle(head)), waitMs);
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onClose);
}
