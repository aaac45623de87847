/**
 * One HTTP/2 stream proxied to an upstream HTTP/2 session: request headers (connection-specific ones never cross,
 * RFC 9113 §8.2.2, nor those the mesh owns), both bodies piped with HTTP/2 flow control as backpressure, response
 * headers and trailers (gRPC's status arrives as trailers). An upstream that resets or fails before answering is
 * a 503 (gRPC: UNAVAILABLE); after the answer has begun the caller's stream is reset too, as Envoy does.
 * A gRPC call's messages are read as they pass (grpc-message-limit.ts, one pass per direction): counted both ways,
 * and a request message past the mesh's limit is refused here too, so a caller that bypassed its own sidecar
 * (PERMISSIVE plaintext, a client without one) cannot hand the app a message the client side would have refused.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { LocalReply } from '../http/proxy-error.js';
import { sendProxyError } from '../http/proxy-error.js';
import { GrpcMessageLimit } from './grpc-message-limit.js';
import { grpcMessageTooLarge, isGrpcRequest } from './grpc-status.js';

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
  /** A gRPC call's request messages passed on to the app, and the app's response messages passed on to the caller. */
  grpcRequestMessages?: number;
  grpcResponseMessages?: number;
}

/** The largest length a gRPC prefix can declare: a parser with this limit only counts. */
const COUNT_ONLY = 0xffffffff;

export function forwardH2Stream(
  down: http2.ServerHttp2Stream,
  /** The caller's stream had END_STREAM on its headers: no body, no request trailers. */
  requestEnded: boolean,
  app: http2.ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  reply: LocalReply,
  /** MeshConfig's grpcMaxMessageBytes for a gRPC call; undefined for any other request. */
  grpcMaxMessageBytes: number | undefined,
  onDone: (d: H2ForwardDone) => void,
): void {
  const outcome: H2ForwardDone = { status: 0 };
  const requestMessages = grpcMaxMessageBytes === undefined || requestEnded ? undefined : new GrpcMessageLimit(grpcMaxMessageBytes);
  let responseMessages: GrpcMessageLimit | undefined;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    if (grpcMaxMessageBytes !== undefined) {
      outcome.grpcRequestMessages = requestMessages?.messages ?? 0;
      outcome.grpcResponseMessages = responseMessages?.messages ?? 0;
    }
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

  let responseTrailers: OutgoingHttpHeaders = {};
  if (!requestEnded) {
    let requestTrailers: OutgoingHttpHeaders = {};
    down.once('trailers', (t: IncomingHttpHeaders) => (requestTrailers = downstreamH2Headers(t)));
    up.once('wantTrailers', () => up.sendTrailers(requestTrailers));
    if (requestMessages !== undefined) {
      /**
       * A request message past the limit: the app's stream is reset before the message's bytes reach it, and the
       * caller is answered RESOURCE_EXHAUSTED, trailers-only if the app has not answered yet, else in the answer's
       * trailers (what the client sidecar does, h2-upstream.ts).
       */
      const refuse = (): void => {
        down.removeListener('data', measure);
        down.unpipe(up);
        outcome.error = 'request payload too large';
        if (!up.closed && !up.destroyed) up.close(NGHTTP2_CANCEL);
        if (down.destroyed || down.closed) return;
        if (down.writableEnded) {
          // The caller already has its whole answer and status: it is only asked to stop sending.
          if (!down.readableEnded) down.close(NGHTTP2_NO_ERROR);
          return;
        }
        const status = grpcMessageTooLarge(requestMessages.oversize, requestMessages.limit, 'request');
        outcome.grpcStatus = status['grpc-status'];
        if (!down.headersSent) {
          outcome.status = 200;
          down.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });
          // The rest of the caller's body is not read: RST_STREAM NO_ERROR says stop without failing the answer.
          if (!down.readableEnded) down.close(NGHTTP2_NO_ERROR);
        } else {
          responseTrailers = status;
          up.unpipe(down);
          if (!down.writableEnded) down.end();
        }
      };
      // Measured before it is piped: this listener sees each chunk first, so an oversize message goes no further.
      const measure = (chunk: Buffer): void => {
        if (requestMessages.feed(chunk) >= 0) refuse();
      };
      down.on('data', measure);
    }
    down.pipe(up);
  }

  up.once('end', () => (answered = true));
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
    // Counted beside the pipe (already flowing): Istio's response_bytes for HTTP/2 and gRPC answers, and a gRPC
    // answer's messages in the same listener.
    outcome.responseBytes = 0;
    if (grpcMaxMessageBytes !== undefined && isGrpcRequest(h['content-type'])) {
      const counted = (responseMessages = new GrpcMessageLimit(COUNT_ONLY));
      up.on('data', (chunk: Buffer) => {
        outcome.responseBytes! += chunk.length;
        counted.feed(chunk);
      });
    } else up.on('data', (chunk: Buffer) => (outcome.responseBytes! += chunk.length));
    up.pipe(down);
  });
}
