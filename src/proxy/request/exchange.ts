/**
 * The contract of the layered request path (undici's `dispatch => dispatch` interceptors, linkerd's stack): one
 * Exchange per request carries the request as received and what the layers decide about it; a layer is
 * `(next) => dispatch`, built once, and sees the answer through a ResponseHandler. A layer that must watch the answer
 * wraps the handler in a small object of its own for that request; none makes a closure per request. The listener's
 * own Exchange is the outermost handler (it writes the client's response), so the chain needs no knowledge of
 * HTTP/1.1: an HTTP/2 stream can be another Exchange.
 */
import type { Readable } from 'node:stream';
import type { CompiledProxyConfig, ClusterBinding } from '../config/compiled-config.js';
import type { CompiledRoute, MatchedRoute } from '../../route/http-route-match.js';
import type { HeaderBag } from '../../route/header-operations.js';
import type { EndpointState } from '../balance/cluster-runtime.js';
import type { ClusterRuntime } from '../balance/cluster-runtime.js';
import type { Endpoint } from '../../proxyconfig/types.js';
import type { RetryBuffer } from './retry-buffer.js';
import type { ProxiedConnection } from '../upstream/proxy-protocol.js';

/** Lower-case name → value, as undici hands response headers over. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** What a handler may do to the upstream answer it is reading. */
export interface UpstreamControl {
  pause(): void;
  resume(): void;
  abort(reason: Error): void;
  /** The answer ended with its headers (an HTTP/2 upstream's END_STREAM on HEADERS: gRPC's trailers-only). */
  readonly headersOnly?: boolean;
}

/** The control of an answer the proxy makes itself: nothing upstream to pause or abort. */
export const LOCAL_REPLY: UpstreamControl = Object.freeze({ pause() {}, resume() {}, abort() {} });

/**
 * Why no upstream answer came: `connect` (no connection: refused, TLS or identity failure, connect timeout), `reset`
 * (the connection closed before the response), `refused` (an HTTP/2 peer refused the stream, REFUSED_STREAM: it did
 * not process the request), `timeout`, or `protocol` (not valid HTTP).
 */
export interface UpstreamFailureEvent {
  readonly kind: 'connect' | 'reset' | 'refused' | 'timeout' | 'protocol';
  /** An HTTP/2 upstream's RST_STREAM code, passed on to an HTTP/2 client whose answer had begun. */
  readonly rstCode?: number;
  readonly status: 502 | 503 | 504;
  readonly reason: string;
  /** Envoy's response flag: UF, UC, UT, ... */
  readonly flag: string;
}

export interface ResponseHandler {
  /** The answer's status and headers; `control` is LOCAL_REPLY when the proxy answers itself. */
  onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void;
  onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void;
  /** The answer is complete; `trailers` are the HTTP/2 upstream's (gRPC's status), undefined when none came. */
  onEnd(ex: Exchange, trailers?: ResponseHeaders): void;
  /** No (complete) answer: before onHeaders, or after it when the upstream broke off mid-response. */
  onError(ex: Exchange, failure: UpstreamFailureEvent): void;
}

export type Dispatch = (ex: Exchange, handler: ResponseHandler) => void;
export type Layer = (next: Dispatch) => Dispatch;

/** Where a request goes: a service port, and a subset of it when the route names one. */
export interface Destination {
  readonly host: string;
  readonly port: number;
  readonly subset?: string | undefined;
}

/**
 * One request on its way through the layers. The listener fills in the request; each layer sets what it decides and
 * nothing else reads user input again.
 */
export abstract class Exchange implements ResponseHandler {
  // The request as the listener read it.
  abstract readonly method: string;
  /** Host header or :authority as the client sent it. */
  abstract readonly authority: string;
  /** Path without the query, normalised where the listener normalises. */
  abstract readonly path: string;
  /** The raw query without `?`; empty when none. */
  abstract readonly query: string;
  abstract readonly scheme: string;
  /** The port the request was routed on (the service port, or the gateway server's port). */
  abstract readonly port: number;
  /** Lower-case request headers as received. */
  abstract readonly headers: Readonly<HeaderBag>;
  /** The request body as received, or null when it has none. */
  abstract readonly body: Readable | null;
  /** An HTTP/2 request's trailers (gRPC client streaming may send them), once its body has ended; else undefined. */
  requestTrailers: ResponseHeaders | undefined;
  /** Headers as received, as a flat [name, value, ...] list with their case. */
  abstract readonly rawHeaders: readonly string[];
  abstract readonly headersSent: boolean;
  /** The client's address and the address it reached, for source-IP hashing and generated hash cookies. */
  abstract readonly sourceAddress: string;
  abstract readonly localAddress: string;
  /**
   * The client's connection as a PROXY header names it (proxy-protocol.ts), read only for a cluster whose rule says
   * `proxyProtocol`; undefined: no client connection behind the request (a mirrored copy).
   */
  proxiedClient(): ProxiedConnection | undefined {
    return undefined;
  }
  /** An HTTP/2 stream: it goes upstream as an HTTP/2 stream too. */
  readonly h2: boolean = false;
  /** A gRPC call (content-type application/grpc): local replies and timeouts answer in gRPC's terms. */
  grpc = false;

  // Set by the listener.
  cfg!: CompiledProxyConfig;
  /** The rules for this request: a service port's or a gateway virtual host's; undefined: the default route. */
  routes: readonly CompiledRoute[] | undefined;
  /** Where the default route goes (a sidecar's service port); undefined at a gateway, where no route means 404. */
  defaultDestination: Destination | undefined;
  /** Headers the mesh adds upstream (x-request-id, forwarding headers), flat; and those it drops. */
  extraHeaders: string[] = [];
  removeHeaders: ReadonlySet<string> | undefined;
  /** A captured request: the address the app dialled, where PASSTHROUGH sends it. */
  dialledAddress: string | undefined;

  // Decided by the layers.
  route: MatchedRoute | undefined;
  destination: Destination | undefined;
  /** The authority and path (with `?query`) sent upstream. */
  upstreamAuthority = '';
  upstreamPath = '';
  /** Set when header operations rewrote the request headers (else the received ones go, hop-by-hop removed). */
  upstreamHeaders: HeaderBag | undefined;
  binding: ClusterBinding | undefined;
  /** The destination port speaks HTTP/2 (`http2`, `grpc`): the request goes upstream as a stream on a shared session. */
  upstreamH2 = false;
  /** The cluster's breaker (a mesh cluster's, or one outside the mesh), which also bounds retries. */
  cluster: Pick<ClusterRuntime, 'breaker'> | undefined;
  endpoint: EndpointState | undefined;
  /** The chosen endpoint as config describes it (address, identity, ports). */
  upstream: Endpoint | undefined;
  /** Upstream attempts made (1 without retries). */
  attempts = 0;
  /** Envoy response flags, comma-separated; empty when none. */
  responseFlags = '';
  /** The workload that answered, for telemetry. */
  upstreamWorkload: string | undefined;
  reason: string | undefined;
  /** The answer in progress, so a client that goes away or a timeout can abort it. */
  control: UpstreamControl | undefined;
  /** The client's answer is settled (timed out) or the client went away: no layer starts anything more for it. */
  closed = false;
  /** The host of the previous attempt, which a retry avoids (Istio's retryIgnorePreviousHosts). */
  previousEndpoint: EndpointState | undefined;
  /** The body kept for retries and mirrors (retry-buffer.ts), when the request has one and may need it again. */
  retryBuffer: RetryBuffer | undefined;

  /** The body one upstream attempt sends: the kept copy replayed when there is one, else the body as received. */
  bodyForAttempt(): Readable | Buffer | null {
    return this.retryBuffer === undefined ? this.body : this.retryBuffer.attemptBody();
  }

  /** A request header's value (several joined by ", "), as consistent hashing reads it. */
  header(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  addFlag(flag: string): void {
    this.responseFlags = this.responseFlags === '' ? flag : `${this.responseFlags},${flag}`;
  }

  abstract onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void;
  abstract onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void;
  abstract onEnd(ex: Exchange, trailers?: ResponseHeaders): void;
  abstract onError(ex: Exchange, failure: UpstreamFailureEvent): void;
}

/** Builds the chain: the first layer is outermost, `innermost` the last step. */
export function stack(layers: readonly Layer[], innermost: Dispatch): Dispatch {
  let d = innermost;
  for (let i = layers.length - 1; i >= 0; i--) d = layers[i]!(d);
  return d;
}

/** An answer the proxy makes itself (no route, redirect, fault, overflow): plain text unless headers say otherwise. */
export function replyLocally(ex: Exchange, handler: ResponseHandler, status: number, body: string | Buffer, headers?: ResponseHeaders, flag?: string): void {
  if (flag !== undefined) ex.addFlag(flag);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const out: ResponseHeaders = { ...(bytes.length > 0 && { 'content-type': 'text/plain' }), ...headers, 'content-length': String(bytes.length), server: 'weft' };
  handler.onHeaders(ex, status, out, LOCAL_REPLY);
  if (bytes.length > 0) handler.onData(ex, bytes, LOCAL_REPLY);
  handler.onEnd(ex);
}
