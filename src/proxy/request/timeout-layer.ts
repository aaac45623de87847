/**
 * The route timeout (VirtualService `timeout`; none unless set, as Istio's default): it spans every attempt, until
 * the response is complete. When it fires the attempt in flight is aborted and the client gets 504 `UT` (or, when the
 * response had begun, a reset); a gRPC caller gets DEADLINE_EXCEEDED. A gRPC call's own `grpc-timeout` bounds it
 * too, the shorter of the two winning (Istio sets Envoy's grpc_timeout_header_max to 0: the header is honoured
 * without a cap).
 */
import { replyLocally } from './exchange.js';
import type { Exchange, Layer, ResponseHandler, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';
import type { Expirable, RequestTimer, RequestTimers } from './request-timers.js';
import { grpcTimeoutMs } from '../http2/grpc-timeout.js';

const ROUTE_TIMEOUT: UpstreamFailureEvent = Object.freeze({ kind: 'timeout', status: 504, reason: 'upstream request timeout', flag: 'UT' });

class RouteTimeout implements ResponseHandler, Expirable {
  private readonly timer: RequestTimer;
  private started = false;
  private done = false;

  constructor(
    private readonly outer: ResponseHandler,
    private readonly ex: Exchange,
    ms: number,
    private readonly timers: RequestTimers,
  ) {
    this.timer = timers.after(ms, this);
  }

  expire(): void {
    const ex = this.ex;
    if (this.done) return;
    this.done = true;
    ex.closed = true;
    ex.control?.abort(new Error('route timeout'));
    if (this.started) {
      ex.addFlag('UT');
      this.outer.onError(ex, ROUTE_TIMEOUT);
    } else {
      ex.reason = ROUTE_TIMEOUT.reason;
      replyLocally(ex, this.outer, 504, 'upstream request timeout', undefined, 'UT');
    }
  }

  onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void {
    if (this.done) return;
    this.started = true;
    this.outer.onHeaders(ex, status, headers, control);
  }
  onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    if (!this.done) this.outer.onData(ex, chunk, control);
  }
  onEnd(ex: Exchange, trailers?: ResponseHeaders): void {
    if (this.finish()) this.outer.onEnd(ex, trailers);
  }
  onError(ex: Exchange, failure: UpstreamFailureEvent): void {
    if (this.finish()) this.outer.onError(ex, failure);
  }

  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.timers.cancel(this.timer);
    return true;
  }
}

export function enforceTimeout(timers: RequestTimers): Layer {
  return (next) => (ex, handler) => {
    const route = ex.route?.rule.route.timeoutMs ?? 0;
    const deadline = ex.grpc ? grpcTimeoutMs(ex.headers['grpc-timeout']) : undefined;
    const ms = deadline === undefined ? route : route > 0 ? Math.min(route, deadline) : deadline;
    next(ex, ms > 0 || deadline !== undefined ? new RouteTimeout(handler, ex, ms, timers) : handler);
  };
}
