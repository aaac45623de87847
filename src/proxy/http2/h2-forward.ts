/**
 * One HTTP/2 stream proxied to an upstream HTTP/2 session: request headers (connection-specific ones never cross,
 * RFC 9113 §8.2.2, nor those the mesh owns), both bodies piped with HTTP/2 flow control as backpressure, response
 * headers and trailers (gRPC's status arrives as trailers). An upstream that resets or fails before answering is
 * a 503 (gRPC: UNAVAILABLE); after the answer has begun the caller's stream is reset too, as Envoy does.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { LocalReply } from '../http/proxy-error.js';
import { sendProxyError } from '../http/proxy-error.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Never forwarded in either direction: connection-specific, or set by the mesh alone. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'host',
  'x-forwarded-client-cert',
]);

/** The request headers for the app: the caller's, minus the above and `remove`, with the admitted path and `extra`. */
export function upstreamH2Headers(incoming: IncomingHttpHeaders, path: string, extra: readonly string[], remove: ReadonlySet<string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    ':method': incoming[':method'] ?? 'GET',
    ':scheme': 'http',
    ':authority': incoming[':authority'] ?? incoming.host ?? '',
    ':path': path,
  };
  for (const name of Object.keys(incoming)) {
    if (name.startsWith(':') || NOT_FORWARDED.has(name) || remove.has(name)) continue;
    const v = incoming[name];
    // `te` may only say "trailers" in HTTP/2 (gRPC sends exactly that).
    if (v === undefined || (name === 'te' && v !== 'trailers')) continue;
    out[name] = v;
  }
  for (let i = 0; i + 1 < extra.length; i += 2) out[extra[i]!.toLowerCase()] = extra[i + 1]!;
  return out;
}

/** Response headers or trailers from the app, pseudo-headers (but `:status`) and connection-specific ones dropped. */
export function downstreamH2Headers(incoming: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(incoming)) {
    if ((name.startsWith(':') && name !== ':status') || (NOT_FORWARDED.has(name) && name !== 'x-forwarded-client-cert')) continue;
    const v = incoming[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}

export interface H2ForwardDone {
  status: number;
  /** The app's `grpc-status`, from its trailers or a trailers-only answer. */
  grpcStatus?: string;
  error?: string;
  /** Response body bytes passed on to the caller. */
  responseBytes?: number;
}

export function forwardH2Stream(
  down: http2.ServerHttp2Stream,
  /** The caller's stream had END_STREAM on its headers: no body, no request trailers. */
  requestEnded: boolean,
  app: http2.ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  reply: LocalReply,
  onDone: (d: H2ForwardDone) => void,
): void {
  const outcome: H2ForwardDone = { status: 0 };
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    onDone(outcome);
  };
  const fail = (reason: string): void => {
    if (outcome.error !== undefined) return;
    outcome.error = reason;
    if (!down.headersSent) {
      outcome.status = 503;
      sendProxyError(reply, 503, reason);
    } else if (!down.destroyed && !down.closed) {
      down.close(NGHTTP2_INTERNAL_ERROR);
    }
  };
  let up: http2.ClientHttp2Stream;
  try {
    up = app.request(headers, { endStream: requestEnded, waitForTrailers: !requestEnded });
  } catch (err) {
    // An unforwardable request (a header node refuses) or a session already gone.
    outcome.status = 503;
    outcome.error = `upstream request failed: ${(err as Error).message}`;
    sendProxyError(reply, 503, outcome.error);
    finish();
    return;
  }
  /** The app's answer arrived whole; a caller's stream closing before that cancels the app's. */
  let answered = false;
  down.once('close', () => {
    if (!answered && !up.closed && !up.destroyed) up.close(NGHTTP2_CANCEL);
    if (outcome.status === 0 && outcome.error === undefined) outcome.error = 'caller reset the stream';
    finish();
  });
  up.on('error', (err: Error) => fail(`upstream error: ${err.message}`));
  up.once('close', () => {
    if (up.rstCode !== undefined && up.rstCode !== NGHTTP2_NO_ERROR) fail(`upstream reset the stream (code ${up.rstCode})`);
    else if (outcome.status === 0) fail('upstream closed the stream without an answer');
  });

  if (!requestEnded) {
    let requestTrailers: OutgoingHttpHeaders = {};
    down.once('trailers', (t: IncomingHttpHeaders) => (requestTrailers = downstreamH2Headers(t)));
    up.once('wantTrailers', () => up.sendTrailers(requestTrailers));
    down.pipe(up);
  }

  up.once('end', () => (answered = true));
  let responseTrailers: OutgoingHttpHeaders = {};
  up.once('trailers', (t: IncomingHttpHeaders) => {
    responseTrailers = downstreamH2Headers(t);
    const g = t['grpc-status'];
    if (typeof g === 'string') outcome.grpcStatus = g;
  });
  up.once('response', (h: IncomingHttpHeaders, flags: number) => {
    outcome.status = Number(h[':status']) || 502;
    if (down.destroyed || down.closed) return;
    const ended = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    if (ended) {
      const g = h['grpc-status'];
      if (typeof g === 'string') outcome.grpcStatus = g;
      answered = true;
      up.resume();
      down.respond(downstreamH2Headers(h), { endStream: true });
      return;
    }
    down.respond(downstreamH2Headers(h), { waitForTrailers: true });
    down.once('wantTrailers', () => down.sendTrailers(responseTrailers));
    // Counted beside the pipe (already flowing): Istio's response_bytes for HTTP/2 and gRPC answers.
    outcome.responseBytes = 0;
    up.on('data', (chunk: Buffer) => (outcome.responseBytes! += chunk.length));
    up.pipe(down);
  });
}
