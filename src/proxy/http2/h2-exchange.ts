/**
 * One HTTP/2 stream from the app as the chain sees it (one Exchange per stream), and the writer of its answer: the
 * outermost ResponseHandler. The answer streams back with HTTP/2 flow control as backpressure (the upstream pauses
 * while the app's stream window is shut), trailers pass through, an app that resets its stream resets the upstream
 * one, and an upstream reset after the answer began resets the app's stream with the same code. A gRPC call gets
 * every reply the proxy makes itself as a trailers-only gRPC response: `:status 200`, the HTTP status mapped to
 * grpc-status as Envoy maps it (grpc-status.ts), the reason as grpc-message, and headers such as x-envoy-overloaded.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import type { HeaderBag } from '../../route/header-operations.js';
import type { AccessLogEntry, Telemetry } from '../telemetry/access-log.js';
import { addRequestFacts } from '../telemetry/request-facts.js';
import { countBodyBytes } from '../telemetry/body-bytes.js';
import type { BodyBytes } from '../telemetry/body-bytes.js';
import { Exchange, LOCAL_REPLY } from '../request/exchange.js';
import { proxiedConnection } from '../upstream/proxy-protocol.js';
import type { ProxiedConnection } from '../upstream/proxy-protocol.js';
import type { ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from '../request/exchange.js';
import { encodeGrpcMessage, grpcMessageTooLarge, grpcStatusOfHttp, isGrpcRequest } from './grpc-status.js';
import { GrpcMessageLimit } from './grpc-message-limit.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Connection-specific response headers (RFC 9113 §8.2.2) and the length of a body a local gRPC reply replaces. */
const NOT_RELAYED: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
const NOT_IN_GRPC_REPLY: ReadonlySet<string> = new Set(['content-type', 'content-length', 'server']);
/** The reason of a local reply goes in grpc-message; more is not kept. */
const MAX_LOCAL_MESSAGE = 1024;

const EXCHANGE = Symbol('exchange');
type Tracked = ServerHttp2Stream & { [EXCHANGE]?: H2Exchange | undefined };

// Listeners without closures: node calls them with the stream as `this`.
function streamClosed(this: Tracked): void {
  this[EXCHANGE]?.clientClosed();
}
function streamDrained(this: Tracked): void {
  this[EXCHANGE]?.control?.resume();
}
function wantTrailers(this: Tracked): void {
  this[EXCHANGE]?.sendTrailers();
}
function requestTrailersArrived(this: Tracked, trailers: IncomingHttpHeaders): void {
  const ex = this[EXCHANGE];
  if (ex === undefined) return;
  const kept: ResponseHeaders = {};
  copyHeaders(trailers, kept, NOT_RELAYED);
  ex.requestTrailers = kept;
}

export interface H2Request {
  authority: string;
  path: string;
  query: string;
  port: number;
}

export class H2Exchange extends Exchange {
  override readonly h2 = true;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly query: string;
  readonly scheme: string;
  readonly port: number;
  readonly body: Readable | null;
  /** Fields the listener adds to this stream's access-log entry (its trace), as Http1Exchange's. */
  logFields: Partial<AccessLogEntry> | undefined;
  private status = 0;
  private grpcStatus: string | undefined;
  private trailers: OutgoingHttpHeaders | undefined;
  private local: { status: number; headers: ResponseHeaders; message: string } | undefined;
  private finished = false;
  private readonly started = performance.now();
  private raw: string[] | undefined;
  /** A gRPC answer's messages, measured and counted as they pass (grpc-message-limit.ts). */
  private limit: GrpcMessageLimit | undefined;
  /** A gRPC call's request messages that went upstream, as the upstream attempt's parser counted them. */
  grpcRequestMessages = 0;
  private responseBytes = 0;
  /** Body bytes received from the client (undefined: END_STREAM came with the headers). */
  private readonly requestBody: BodyBytes | undefined;

  constructor(
    private readonly stream: ServerHttp2Stream,
    readonly headers: Readonly<HeaderBag>,
    flags: number,
    r: H2Request,
    private readonly telemetry: Telemetry,
    private readonly direction: AccessLogEntry['direction'],
  ) {
    super();
    const h = headers as IncomingHttpHeaders;
    this.method = h[':method'] ?? 'GET';
    this.scheme = h[':scheme'] ?? 'http';
    this.authority = r.authority;
    this.path = r.path;
    this.query = r.query;
    this.port = r.port;
    this.body = (flags & NGHTTP2_FLAG_END_STREAM) !== 0 ? null : stream;
    this.requestBody = this.body === null ? undefined : countBodyBytes(stream);
    this.grpc = isGrpcRequest(h['content-type']);
    (stream as Tracked)[EXCHANGE] = this;
    stream.once('close', streamClosed);
    // Trailers arrive just before the body's end: kept for the upstream stream, which sends them after the body.
    if (this.body !== null) stream.once('trailers', requestTrailersArrived);
  }

  /** The request headers as a flat list without pseudo-headers, for an HTTP/1.1 upstream. */
  get rawHeaders(): readonly string[] {
    if (this.raw !== undefined) return this.raw;
    const out: string[] = [];
    for (const name in this.headers) {
      if (name.charCodeAt(0) === 58 /* : */) continue;
      const v = this.headers[name];
      if (Array.isArray(v)) for (const one of v) out.push(name, one);
      else if (v !== undefined) out.push(name, v);
    }
    return (this.raw = out);
  }
  get headersSent(): boolean {
    return this.stream.headersSent;
  }
  get sourceAddress(): string {
    return this.stream.session?.socket?.remoteAddress ?? '';
  }
  get localAddress(): string {
    return this.stream.session?.socket?.localAddress ?? '';
  }
  override proxiedClient(): ProxiedConnection | undefined {
    const session = this.stream.session;
    if (session === undefined) return undefined;
    return proxiedConnection(session, session.socket, this.dialledAddress, this.port);
  }

  /** The app reset or closed its stream before the answer was whole: nothing more is started, the upstream is reset. */
  clientClosed(): void {
    if (this.finished) return;
    this.closed = true;
    this.control?.abort(new Error('downstream reset the stream'));
    if (this.status === 0) this.reason ??= 'downstream reset the stream';
    this.addFlag('DR');
    this.record();
  }

  onHeaders(_ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void {
    if (this.finished) return;
    this.status = status;
    if (control === LOCAL_REPLY && this.grpc && headers['grpc-status'] === undefined) {
      this.local = { status, headers, message: '' };
      return;
    }
    const g = headers['grpc-status'];
    if (typeof g === 'string') this.grpcStatus = g;
    const out: OutgoingHttpHeaders = { ':status': status };
    copyHeaders(headers, out, NOT_RELAYED);
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    if (control.headersOnly === true || (control === LOCAL_REPLY && g !== undefined)) {
      s.respond(out, { endStream: true });
      this.stopRequestBody();
      return;
    }
    if (this.grpc && control !== LOCAL_REPLY && isGrpcRequest(headers['content-type'])) this.limit = new GrpcMessageLimit(this.cfg.grpcMaxMessageBytes);
    s.respond(out, { waitForTrailers: true });
    s.on('wantTrailers', wantTrailers);
  }

  onData(_ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    if (this.local !== undefined) {
      if (this.local.message.length < MAX_LOCAL_MESSAGE) this.local.message += chunk.toString('utf8', 0, Math.min(chunk.length, MAX_LOCAL_MESSAGE));
      return;
    }
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    if (this.limit !== undefined) {
      const at = this.limit.feed(chunk);
      if (at >= 0) return this.responseTooLarge(at === 0 ? undefined : chunk.subarray(0, at), control);
    }
    this.responseBytes += chunk.length;
    if (!s.write(chunk)) {
      control.pause();
      s.once('drain', streamDrained);
    }
  }

  onEnd(_ex: Exchange, trailers?: ResponseHeaders): void {
    if (this.finished) return;
    if (this.local !== undefined) {
      this.replyGrpc(this.local.status, this.local.headers, this.local.message);
    } else {
      if (trailers !== undefined) {
        const g = trailers['grpc-status'];
        if (typeof g === 'string') this.grpcStatus = g;
        this.trailers = {};
        copyHeaders(trailers, this.trailers, NOT_RELAYED);
      }
      const s = this.stream;
      if (!s.destroyed && !s.closed && !s.writableEnded) s.end();
    }
    this.finished = true;
    this.record();
  }

  onError(_ex: Exchange, failure: UpstreamFailureEvent): void {
    if (this.finished) return;
    this.addFlag(failure.flag);
    this.reason = failure.reason;
    const s = this.stream;
    if (s.headersSent) {
      if (!s.destroyed && !s.closed) s.close(failure.rstCode ?? NGHTTP2_INTERNAL_ERROR);
    } else {
      this.status = failure.status;
      if (this.grpc) this.replyGrpc(failure.status, {}, failure.reason);
      else if (!s.destroyed && !s.closed) {
        s.respond({ ':status': failure.status, 'content-type': 'text/plain; charset=utf-8', server: 'weft' });
        s.end(`${failure.reason}\n`);
      }
    }
    this.finished = true;
    this.record();
  }

  /**
   * An answer's message past the limit: what came before it goes on, the upstream stream is reset, and the caller's
   * answer ends with RESOURCE_EXHAUSTED in its trailers.
   */
  private responseTooLarge(before: Buffer | undefined, control: UpstreamControl): void {
    const limit = this.limit!;
    this.finished = true;
    this.reason = 'response payload too large';
    const status = grpcMessageTooLarge(limit.oversize, limit.limit, 'response');
    this.grpcStatus = status['grpc-status'];
    this.trailers = status;
    control.abort(new Error(this.reason));
    const s = this.stream;
    if (before !== undefined) s.write(before);
    if (!s.writableEnded) s.end();
    this.record();
  }

  sendTrailers(): void {
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    s.sendTrailers(this.trailers ?? {});
    this.stopRequestBody();
  }

  /**
   * The answer is complete while the app is still sending its request (a refusal, an early answer): RST_STREAM with
   * NO_ERROR tells it to stop without failing the answer (RFC 9113 §8.1), rather than the stream staying half open
   * with a body nobody reads.
   */
  private stopRequestBody(): void {
    const s = this.stream;
    if (this.body !== null && !s.readableEnded && !s.destroyed && !s.closed) s.close(NGHTTP2_NO_ERROR);
  }

  /** A reply of the proxy's own to a gRPC caller: trailers-only, the HTTP status mapped, the reason as grpc-message. */
  private replyGrpc(status: number, headers: ResponseHeaders, message: string): void {
    const s = this.stream;
    this.grpcStatus = String(grpcStatusOfHttp(status));
    if (s.destroyed || s.closed || s.headersSent) return;
    const out: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
    copyHeaders(headers, out, NOT_IN_GRPC_REPLY);
    out['grpc-status'] = this.grpcStatus;
    const text = message.trimEnd();
    if (text !== '') out['grpc-message'] = encodeGrpcMessage(text);
    s.respond(out, { endStream: true });
    this.stopRequestBody();
  }

  private record(): void {
    this.finished = true;
    const entry: AccessLogEntry = {
      direction: this.direction,
      method: this.method,
      authority: this.authority,
      path: this.query === '' ? this.path : `${this.path}?${this.query}`,
      // A gRPC caller was answered 200 whatever the status: the access log keeps what the proxy meant (Envoy's
      // response code for a local reply), the gRPC status beside it.
      status: this.status,
      durationMs: performance.now() - this.started,
      upstream: this.upstreamWorkload,
      destinationService: (this.destination ?? this.defaultDestination)?.host,
      reason: this.reason,
      requestBytes: this.requestBody?.bytes ?? 0,
      responseBytes: this.responseBytes,
    };
    addRequestFacts(entry, this.headers as IncomingHttpHeaders, this.extraHeaders);
    const ep = this.upstream;
    if (ep !== undefined) {
      entry.mtls = ep.mtls;
      entry.upstreamPrincipal = ep.spiffeId;
      entry.upstreamHost = `${ep.address}:${ep.mtls ? ep.inboundPort : ep.targetPort}`;
      entry.upstreamCluster = this.binding?.config.name;
    }
    if (this.grpc) {
      entry.protocol = 'grpc';
      entry.grpcRequestMessages = this.grpcRequestMessages;
      entry.grpcResponseMessages = this.limit?.messages ?? 0;
    }
    if (this.grpcStatus !== undefined) entry.grpcStatus = Number(this.grpcStatus);
    if (this.responseFlags !== '') entry.responseFlags = this.responseFlags;
    if (this.attempts > 1) entry.attempts = this.attempts;
    this.telemetry.record(this.logFields === undefined ? entry : Object.assign(entry, this.logFields));
  }
}

function copyHeaders(from: ResponseHeaders, to: OutgoingHttpHeaders, skip: ReadonlySet<string>): void {
  for (const name in from) {
    if (name.charCodeAt(0) === 58 || skip.has(name)) continue;
    const v = from[name];
    if (v !== undefined) to[name] = v;
  }
}
