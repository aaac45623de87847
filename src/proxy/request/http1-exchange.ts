/**
 * An HTTP/1.1 request as the chain sees it, and the writer of its response: the outermost ResponseHandler. It
 * streams the answer to the client with backpressure (pausing the upstream while the client is slow), aborts the
 * upstream when the client goes away, and reports the finished request to telemetry with its response flags.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { HOP_BY_HOP } from '../http/forward.js';
import { sendProxyError } from '../http/proxy-error.js';
import type { HeaderBag } from '../../route/header-operations.js';
import type { AccessLogEntry, Telemetry } from '../telemetry/access-log.js';
import { addRequestFacts } from '../telemetry/request-facts.js';
import { countBodyBytes } from '../telemetry/body-bytes.js';
import type { BodyBytes } from '../telemetry/body-bytes.js';
import { Exchange } from './exchange.js';
import { proxiedConnection } from '../upstream/proxy-protocol.js';
import type { ProxiedConnection } from '../upstream/proxy-protocol.js';
import type { ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';

const EXCHANGE = Symbol('exchange');
type TrackedResponse = ServerResponse & { [EXCHANGE]?: Http1Exchange };

/** Listeners without closures: node calls them with the response as `this`. */
function clientClosed(this: TrackedResponse): void {
  const ex = this[EXCHANGE];
  if (ex === undefined || this.writableFinished) return;
  ex.closed = true;
  ex.control?.abort(new Error('downstream closed'));
}
function clientDrained(this: TrackedResponse): void {
  this[EXCHANGE]?.control?.resume();
}

export interface Http1Request {
  authority: string;
  path: string;
  query: string;
  port: number;
}

export class Http1Exchange extends Exchange {
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly query: string;
  readonly scheme = 'http';
  readonly port: number;
  readonly body: Readable | null;
  private status = 0;
  private responseBytes = 0;
  /** Body bytes received from the client (undefined: the request has no body). */
  private readonly requestBody: BodyBytes | undefined;
  private readonly started = performance.now();
  /** Fields the listener adds to the access log entry (authz verdict, egress decision). */
  logFields: Partial<AccessLogEntry> | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    r: Http1Request,
    private readonly telemetry: Telemetry,
    private readonly direction: AccessLogEntry['direction'],
  ) {
    super();
    this.method = req.method ?? 'GET';
    this.authority = r.authority;
    this.path = r.path;
    this.query = r.query;
    this.port = r.port;
    const len = req.headers['content-length'];
    this.body = req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0') ? req : null;
    this.requestBody = this.body === null ? undefined : countBodyBytes(req);
    (res as TrackedResponse)[EXCHANGE] = this;
    res.once('close', clientClosed);
  }

  get headers(): Readonly<HeaderBag> {
    return this.req.headers;
  }
  get rawHeaders(): readonly string[] {
    return this.req.rawHeaders;
  }
  get sourceAddress(): string {
    return this.req.socket.remoteAddress ?? '';
  }
  get localAddress(): string {
    return this.req.socket.localAddress ?? '';
  }
  override proxiedClient(): ProxiedConnection {
    return proxiedConnection(this.req.socket, this.req.socket, this.dialledAddress, this.port);
  }
  get headersSent(): boolean {
    return this.res.headersSent;
  }

  onHeaders(_ex: Exchange, status: number, headers: ResponseHeaders): void {
    this.status = status;
    const out: string[] = [];
    for (const name in headers) {
      if (HOP_BY_HOP.has(name) && name !== 'x-forwarded-client-cert') continue;
      const v = headers[name];
      if (Array.isArray(v)) for (const one of v) out.push(name, one);
      else if (v !== undefined) out.push(name, v);
    }
    this.res.writeHead(status, out);
  }

  onData(_ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    this.responseBytes += chunk.length;
    if (!this.res.write(chunk)) {
      control.pause();
      this.res.once('drain', clientDrained);
    }
  }

  onEnd(): void {
    this.res.end();
    this.record();
  }

  onError(_ex: Exchange, failure: UpstreamFailureEvent): void {
    this.addFlag(failure.flag);
    this.reason = failure.reason;
    if (this.res.headersSent) {
      this.res.destroy();
    } else {
      this.status = failure.status;
      sendProxyError(this.res, failure.status, failure.reason);
    }
    this.record();
  }

  private record(): void {
    const entry: AccessLogEntry = {
      direction: this.direction,
      method: this.method,
      authority: this.authority,
      path: this.query === '' ? this.path : `${this.path}?${this.query}`,
      status: this.status,
      durationMs: performance.now() - this.started,
      upstream: this.upstreamWorkload,
      // From config (the route's destination), never from the request: it may label metrics.
      destinationService: (this.destination ?? this.defaultDestination)?.host,
      port: (this.destination ?? this.defaultDestination)?.port,
      reason: this.reason,
      responseBytes: this.responseBytes,
      requestBytes: this.requestBody?.bytes ?? 0,
    };
    addRequestFacts(entry, this.req.headers, this.extraHeaders);
    const ep = this.upstream;
    if (ep !== undefined) {
      entry.mtls = ep.mtls;
      entry.upstreamPrincipal = ep.spiffeId;
      entry.upstreamHost = `${ep.address}:${ep.mtls ? ep.inboundPort : ep.targetPort}`;
      entry.upstreamCluster = this.binding?.config.name;
    }
    if (this.responseFlags !== '') entry.responseFlags = this.responseFlags;
    if (this.attempts > 1) entry.attempts = this.attempts;
    this.telemetry.record(this.logFields === undefined ? entry : Object.assign(entry, this.logFields));
  }
}
