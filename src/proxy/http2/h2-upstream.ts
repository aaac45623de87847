/**
 * The innermost step for a destination port that speaks HTTP/2 (`http2`, `grpc`): one stream on a pooled session to
 * the chosen endpoint (h2-session-pool.ts). Request headers cross without connection-specific ones (RFC 9113
 * §8.2.2) or those the mesh owns; the body is piped with HTTP/2 flow control as backpressure; response headers,
 * data and trailers go to the chain's handler as they come. The chain pausing the answer pauses the stream (its
 * window closes upstream); an abort resets the upstream stream with CANCEL. A stream the peer refused
 * (REFUSED_STREAM, or past its GOAWAY) was not processed and may be retried (`refused-stream`).
 */
import http2 from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { Readable } from 'node:stream';
import { HOP_BY_HOP } from '../http/forward.js';
import { targetOf } from '../upstream/upstream-target.js';
import { LOCAL_REPLY } from '../request/exchange.js';
import type { Dispatch, Exchange, ResponseHandler, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from '../request/exchange.js';
import type { H2SessionPools, PooledSession, SessionWaiter } from './h2-session-pool.js';
import { GrpcMessageLimit } from './grpc-message-limit.js';
import { grpcMessageTooLarge } from './grpc-status.js';
import type { H2Exchange } from './h2-exchange.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

const ATTEMPT = Symbol('attempt');
type Tracked = ClientHttp2Stream & { [ATTEMPT]?: H2UpstreamAttempt };
/** The body an attempt sends, while its gRPC messages are measured. */
type MeasuredBody = Readable & { [ATTEMPT]?: H2UpstreamAttempt | undefined };

function onRequestData(this: MeasuredBody, chunk: Buffer): void {
  this[ATTEMPT]?.requestData(chunk);
}

// Listeners without closures: node calls them with the stream as `this`.
function onResponse(this: Tracked, headers: IncomingHttpHeaders, flags: number): void {
  this[ATTEMPT]?.response(headers, flags);
}
function onData(this: Tracked, chunk: Buffer): void {
  this[ATTEMPT]?.data(chunk);
}
function onTrailers(this: Tracked, trailers: IncomingHttpHeaders): void {
  this[ATTEMPT]?.trailersReceived(trailers);
}
function onEnd(this: Tracked): void {
  this[ATTEMPT]?.end();
}
function onError(this: Tracked, err: Error): void {
  const a = this[ATTEMPT];
  if (a !== undefined) a.error = err;
}
function onWantTrailers(this: Tracked): void {
  this[ATTEMPT]?.sendRequestTrailers();
}
function onClose(this: Tracked): void {
  this[ATTEMPT]?.closed(this.rstCode);
}
function endSettled(a: H2UpstreamAttempt): void {
  a.complete();
}

/** The request headers for the upstream stream. */
function requestHeaders(ex: Exchange, scheme: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': ex.method, ':scheme': scheme, ':authority': ex.upstreamAuthority, ':path': ex.upstreamPath };
  const bag = ex.upstreamHeaders ?? ex.headers;
  const remove = ex.removeHeaders;
  for (const name in bag) {
    if (name.charCodeAt(0) === 58 || name === 'host' || remove?.has(name) === true) continue;
    const v = bag[name];
    if (v === undefined) continue;
    // `te` may only say "trailers" in HTTP/2 (gRPC sends exactly that).
    if (name === 'te') {
      if (v === 'trailers') out[name] = v;
      continue;
    }
    if (HOP_BY_HOP.has(name)) continue;
    out[name] = v;
  }
  // Header operations edit a copy without hop-by-hop headers; gRPC's `te: trailers` still goes.
  if (out['te'] === undefined && ex.headers['te'] === 'trailers') out['te'] = 'trailers';
  const extra = ex.extraHeaders;
  for (let i = 0; i + 1 < extra.length; i += 2) out[extra[i]!.toLowerCase()] = extra[i + 1]!;
  return out;
}

function responseHeaders(h: IncomingHttpHeaders): ResponseHeaders {
  const out: ResponseHeaders = {};
  for (const name in h) if (name.charCodeAt(0) !== 58) out[name] = h[name];
  return out;
}

export class H2UpstreamAttempt implements UpstreamControl, SessionWaiter {
  private stream: Tracked | undefined;
  private session: PooledSession | undefined;
  private trailers: ResponseHeaders | undefined;
  private answered = false;
  private endSeen = false;
  private done = false;
  private abortedWith: Error | undefined;
  /** A gRPC call's request messages, measured as they pass (grpc-message-limit.ts). */
  private limit: GrpcMessageLimit | undefined;
  private measured: MeasuredBody | undefined;
  headersOnly = false;
  error: Error | undefined;

  constructor(
    private readonly ex: Exchange,
    private readonly handler: ResponseHandler,
    /** `https` when this proxy originates TLS to the upstream. */
    private readonly scheme = 'http',
  ) {
    ex.control = this;
  }

  get cancelled(): boolean {
    return this.done;
  }

  granted(s: PooledSession): void {
    if (this.done) {
      s.release();
      return;
    }
    this.session = s;
    const ex = this.ex;
    const body = ex.bodyForAttempt();
    let stream: Tracked;
    try {
      // A body may end in trailers (gRPC client streaming, HTTP/2 trailers in general): END_STREAM waits for them.
      stream = s.session!.request(requestHeaders(ex, this.scheme), { endStream: body === null, waitForTrailers: body !== null }) as Tracked;
    } catch (err) {
      this.session = undefined;
      s.release();
      this.finish({ kind: 'reset', status: 503, reason: `upstream request failed: ${(err as Error).message}`, flag: 'UC' });
      return;
    }
    this.stream = stream;
    stream[ATTEMPT] = this;
    stream.once('response', onResponse);
    stream.on('data', onData);
    stream.once('trailers', onTrailers);
    stream.once('end', onEnd);
    stream.on('error', onError);
    stream.once('close', onClose);
    if (body !== null) stream.once('wantTrailers', onWantTrailers);
    if (ex.grpc && body !== null) this.limit = new GrpcMessageLimit(ex.cfg.grpcMaxMessageBytes);
    if (body instanceof Readable) {
      // Measured before it is piped: this listener sees each chunk first, so an oversize message's bytes stay here.
      if (this.limit !== undefined) {
        const measured = body as MeasuredBody;
        measured[ATTEMPT] = this;
        measured.on('data', onRequestData);
        this.measured = measured;
      }
      body.pipe(stream);
    } else if (body !== null) {
      if (this.limit !== undefined && this.limit.feed(body) >= 0) this.requestTooLarge();
      else {
        if (this.limit !== undefined) this.countRequestMessages(this.limit);
        stream.end(body);
      }
    }
  }

  /** The request body has gone: the caller's trailers follow it (none: END_STREAM on an empty DATA frame). */
  sendRequestTrailers(): void {
    const s = this.stream;
    if (s !== undefined && !s.closed && !s.destroyed) s.sendTrailers(this.ex.requestTrailers ?? {});
  }

  requestData(chunk: Buffer): void {
    const limit = this.limit!;
    if (limit.feed(chunk) >= 0) this.requestTooLarge();
    else this.countRequestMessages(limit);
  }

  /**
   * What went upstream, for istio_request_messages_total. A retry replays the body from its start with a new parser:
   * the most any attempt passed is what the client sent.
   */
  private countRequestMessages(limit: GrpcMessageLimit): void {
    const ex = this.ex;
    if (ex.h2 && limit.messages > (ex as H2Exchange).grpcRequestMessages) (ex as H2Exchange).grpcRequestMessages = limit.messages;
  }

  /**
   * A request message past the limit: the upstream stream is reset before the message's bytes reach it, and the
   * caller is answered RESOURCE_EXHAUSTED: trailers-only if no answer has begun, else as the answer's trailers.
   */
  private requestTooLarge(): void {
    this.stopMeasuring();
    const s = this.stream;
    if (this.measured !== undefined) this.measured.unpipe(s);
    if (s !== undefined && !s.closed && !s.destroyed) s.close(NGHTTP2_CANCEL);
    if (this.done) return;
    this.done = true;
    const ex = this.ex;
    ex.reason = 'request payload too large';
    const status = grpcMessageTooLarge(this.limit!.oversize, this.limit!.limit, 'request');
    if (this.answered) {
      this.handler.onEnd(ex, status);
      return;
    }
    this.handler.onHeaders(ex, 200, { 'content-type': 'application/grpc', ...status }, LOCAL_REPLY);
    this.handler.onEnd(ex);
  }

  private stopMeasuring(): void {
    const m = this.measured;
    if (m === undefined) return;
    m.removeListener('data', onRequestData);
    m[ATTEMPT] = undefined;
  }

  failed(err: Error): void {
    this.finish({ kind: 'connect', status: 503, reason: `upstream connect error: ${err.message}`, flag: 'UF' });
  }

  response(headers: IncomingHttpHeaders, flags: number): void {
    if (this.done) return;
    this.answered = true;
    this.headersOnly = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
    this.handler.onHeaders(this.ex, Number(headers[':status']) || 502, responseHeaders(headers), this);
  }

  data(chunk: Buffer): void {
    if (!this.done) this.handler.onData(this.ex, chunk, this);
  }

  trailersReceived(t: IncomingHttpHeaders): void {
    this.trailers = responseHeaders(t);
  }

  /**
   * node ends the readable side before it reports an RST_STREAM that cut the answer off ('end', then 'error' and
   * 'close' on the next ticks): the answer is complete only if no reset follows within this turn.
   */
  end(): void {
    if (this.done || !this.answered) return;
    this.endSeen = true;
    setImmediate(endSettled, this);
  }

  complete(): void {
    if (this.done) return;
    this.done = true;
    this.handler.onEnd(this.ex, this.trailers);
  }

  closed(rstCode: number | undefined): void {
    this.stopMeasuring();
    const s = this.session;
    this.session = undefined;
    s?.release();
    if (this.stream !== undefined) this.stream[ATTEMPT] = undefined;
    if (this.done) return;
    if (this.endSeen && (rstCode === undefined || rstCode === NGHTTP2_NO_ERROR)) {
      this.complete();
      return;
    }
    if (this.abortedWith !== undefined) {
      this.finish({ kind: 'reset', status: 503, reason: this.abortedWith.message, flag: 'UC' });
      return;
    }
    const refused = rstCode === NGHTTP2_REFUSED_STREAM || (this.error as { code?: string } | undefined)?.code === 'ERR_HTTP2_GOAWAY_SESSION';
    if (refused && !this.answered) this.finish({ kind: 'refused', status: 503, reason: 'upstream refused the stream', flag: 'UR', rstCode: NGHTTP2_REFUSED_STREAM });
    else if (rstCode !== undefined && rstCode !== NGHTTP2_NO_ERROR) this.finish({ kind: 'reset', status: 503, reason: `upstream reset the stream (code ${rstCode})`, flag: 'UR', rstCode });
    else if (this.answered) this.finish({ kind: 'reset', status: 503, reason: 'upstream closed the stream before the end of the answer', flag: 'UC' });
    else this.finish({ kind: 'reset', status: 503, reason: `upstream connection closed before the answer${this.error ? `: ${this.error.message}` : ''}`, flag: 'UC' });
  }

  pause(): void {
    this.stream?.pause();
  }
  resume(): void {
    this.stream?.resume();
  }
  abort(reason: Error): void {
    if (this.done) return;
    this.abortedWith = reason;
    const s = this.stream;
    if (s === undefined) {
      // Still waiting for a session: it is let go when granted.
      this.finish({ kind: 'reset', status: 503, reason: reason.message, flag: 'UC' });
      return;
    }
    if (!s.closed && !s.destroyed) s.close(NGHTTP2_CANCEL);
  }

  private finish(f: UpstreamFailureEvent): void {
    if (this.done) return;
    this.done = true;
    this.handler.onError(this.ex, f);
  }
}

export function connectUpstreamH2(pools: H2SessionPools): Dispatch {
  return (ex, handler) => {
    const ep = ex.upstream!;
    ex.upstreamWorkload = ep.workload;
    const settings = ex.binding!.httpPool;
    // Only a cluster with `proxyProtocol` keeps its sessions per client connection.
    pools.get(targetOf(ep, ex.binding!.sni, ex.binding!.config.policy.tls?.mode), settings, settings.proxyProtocol === null ? undefined : ex.proxiedClient()).acquire(new H2UpstreamAttempt(ex, handler));
  };
}
