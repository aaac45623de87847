/**
 * An HTTP/2 server that never listens: connections already accepted elsewhere (a listener that sniffed the h2c
 * preface, or a TLS socket whose ALPN chose `h2`) are handed to it with a tag saying where they came from (the
 * gateway port, the captured destination), and each stream reaches `onStream` with its connection's tag. It carries
 * the bounds every HTTP/2 listener of the proxy keeps (h2-server-limits.ts) and closes idle sessions.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { H2_SERVER_LIMITS, SESSION_IDLE_MS, countStreamResets } from './h2-server-limits.js';

export interface H2cServer<Tag> {
  /** Serve one connection as HTTP/2; its streams carry `tag`. */
  serve(socket: Duplex, tag: Tag | undefined): void;
  /** GOAWAY to every session; each closes when its streams end. */
  close(): void;
}

export function createH2cServer<Tag>(
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, tag: Tag | undefined) => void,
): H2cServer<Tag> {
  const tagOf = new WeakMap<http2.Http2Session, Tag>();
  // node creates the session synchronously inside emit('connection'): this names its tag for 'session'.
  let dispatching: Tag | undefined;
  const server = http2.createServer(H2_SERVER_LIMITS);
  server.setTimeout(SESSION_IDLE_MS);
  server.on('timeout', (session: ServerHttp2Session) => session.destroy());
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session: ServerHttp2Session) => {
    if (dispatching !== undefined) tagOf.set(session, dispatching);
    session.on('error', () => undefined);
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
    stream.on('error', () => undefined); // its close is what is recorded
    countStreamResets(stream);
    onStream(stream, headers, flags, stream.session === undefined ? undefined : tagOf.get(stream.session));
  });
  return {
    serve(socket, tag) {
      dispatching = tag;
      try {
        server.emit('connection', socket);
      } finally {
        dispatching = undefined;
      }
    },
    close() {
      server.close();
      for (const s of sessions) s.close();
    },
  };
}
