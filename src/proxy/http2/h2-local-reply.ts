/**
 * A reply the proxy makes itself on an HTTP/2 stream (denied, unauthenticated, no app), written through the same
 * LocalReply calls as an HTTP/1.1 ServerResponse so admission and errors have one code path. A gRPC caller gets
 * Envoy's gRPC local reply: `:status 200`, `content-type: application/grpc`, the mapped `grpc-status` and the
 * reason as `grpc-message`. Those go in trailers after the response headers rather than as a trailers-only
 * response: both are valid gRPC, and a client that reads the status only from trailers still sees it. A reply
 * marked `trailersOnly()` (a local rate limit, as Envoy sends it) is one HEADERS frame that ends the stream.
 */
import http2 from 'node:http2';
import type { LocalReply } from '../http/proxy-error.js';
import { encodeGrpcMessage, grpcStatusOfHttp } from './grpc-status.js';

/** Headers of a plain-text reply that mean nothing once the reply is gRPC-framed. */
const NOT_FOR_GRPC = new Set(['content-type', 'content-length']);

export class H2LocalReply implements LocalReply {
  #status = 500;
  readonly #headers: Record<string, string | number> = {};
  #trailersOnly = false;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    private readonly grpc: boolean,
  ) {}

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /** What the caller was told as an HTTP status (the access log's view; a gRPC caller saw 200 and this mapped). */
  get status(): number {
    return this.#status;
  }

  /** For a gRPC caller: the status in the response headers, ending the stream (gRPC's Trailers-Only response). */
  trailersOnly(): this {
    this.#trailersOnly = true;
    return this;
  }

  setHeader(name: string, value: string): void {
    this.#headers[name.toLowerCase()] = value;
  }

  writeHead(status: number, headers: Record<string, string | number>): void {
    this.#status = status;
    for (const [k, v] of Object.entries(headers)) this.#headers[k.toLowerCase()] = v;
  }

  end(body: string): void {
    const stream = this.stream;
    // The caller may have reset the stream while admission was awaiting a token check or ext-authz.
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    if (!this.grpc) {
      stream.respond({ ...this.#headers, ':status': this.#status });
      stream.end(body);
      return;
    }
    const headers: Record<string, string | number> = { ':status': 200, 'content-type': 'application/grpc' };
    for (const [k, v] of Object.entries(this.#headers)) if (!NOT_FOR_GRPC.has(k)) headers[k] = v;
    const status = { 'grpc-status': String(grpcStatusOfHttp(this.#status)), 'grpc-message': encodeGrpcMessage(body.trimEnd()) };
    if (this.#trailersOnly) {
      stream.respond({ ...headers, ...status }, { endStream: true });
      return;
    }
    stream.respond(headers, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(status));
    stream.end();
  }

  destroy(): void {
    if (!this.stream.destroyed && !this.stream.closed) this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
}
