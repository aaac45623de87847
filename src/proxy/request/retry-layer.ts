/**
 * Retries (Envoy's router retry policy as Istio writes it; a route without `retries`, and the default route, get
 * Istio's default: 2 retries on connect-failure, refused-stream, unavailable, cancelled and 503). An attempt whose
 * answer is retriable is dropped before anything reaches the client and the request goes again, to another host
 * when the policy says so, after Envoy's jittered exponential backoff (25ms base unless set); each attempt has its
 * own per-try timeout when set. Retries are limited by the cluster's maxRetries breaker. When the last attempt is
 * still retriable its answer stands and the flag `URX` says the limit was reached. A request with a body is retried
 * from the copy the retry buffer keeps (retry-buffer.ts) while the body stays within the buffer limit, as Envoy's;
 * once it outgrows the limit the attempt in flight is the only one. Timers run on the injected clock.
 */
import type { RetryPolicy } from '../../proxyconfig/types.js';
import { ISTIO_DEFAULT_RETRY } from '../../route/virtual-service-routes.js';
import { LOCAL_REPLY } from './exchange.js';
import type { Dispatch, Exchange, Layer, ResponseHandler, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';
import type { Expirable, RequestTimer, RequestTimers } from './request-timers.js';

const DEFAULT_BACKOFF_MS = 25;
const PER_TRY_TIMEOUT: UpstreamFailureEvent = Object.freeze({ kind: 'timeout', status: 504, reason: 'upstream request timeout (per try)', flag: 'UT' });

/** gRPC statuses Envoy's retry conditions name. */
const GRPC_CONDITIONS: Readonly<Record<string, string>> = { '1': 'cancelled', '4': 'deadline-exceeded', '8': 'resource-exhausted', '13': 'internal', '14': 'unavailable' };

function statusRetriable(policy: RetryPolicy, status: number, headers: ResponseHeaders): boolean {
  const on = policy.retryOn;
  if (status >= 500 && on.includes('5xx')) return true;
  if ((status === 502 || status === 503 || status === 504) && on.includes('gateway-error')) return true;
  if (status === 409 && on.includes('retriable-4xx')) return true;
  if (on.includes('retriable-status-codes') && policy.retriableStatusCodes.includes(status)) return true;
  const grpc = headers['grpc-status'];
  if (typeof grpc === 'string') {
    const condition = GRPC_CONDITIONS[grpc];
    if (condition !== undefined && on.includes(condition)) return true;
  }
  return false;
}

function failureRetriable(policy: RetryPolicy, failure: UpstreamFailureEvent): boolean {
  const on = policy.retryOn;
  if (on.includes('5xx') || on.includes('gateway-error')) return failure.kind !== 'protocol' || on.includes('5xx');
  if (failure.kind === 'connect') return on.includes('connect-failure') || on.includes('reset');
  if (failure.kind === 'refused') return on.includes('refused-stream') || on.includes('reset');
  if (failure.kind === 'reset' || failure.kind === 'timeout') return on.includes('reset');
  return false;
}

/** One request's retry state; each attempt reports through its own Attempt so a dropped attempt's late events are ignored. */
class Retrying implements Expirable {
  current: Attempt | undefined;
  retriesLeft: number;

  constructor(
    readonly next: Dispatch,
    readonly outer: ResponseHandler,
    readonly policy: RetryPolicy,
    readonly random: () => number,
    readonly timers: RequestTimers,
    private readonly ex: Exchange,
  ) {
    this.retriesLeft = policy.attempts;
  }

  /** The backoff is over: release the retry budget and go again. */
  expire(): void {
    this.ex.cluster?.breaker.endRetry();
    this.start(this.ex);
  }

  start(ex: Exchange): void {
    if (ex.closed) return;
    ex.attempts++;
    const attempt = new Attempt(this, ex);
    this.current = attempt;
    this.next(ex, attempt);
  }

  /** True when a retry was scheduled for this result. */
  retry(ex: Exchange): boolean {
    if (this.retriesLeft <= 0 || ex.closed) return false;
    if (ex.retryBuffer !== undefined && !ex.retryBuffer.retriable) return false;
    const breaker = ex.cluster?.breaker;
    if (breaker !== undefined && !breaker.startRetry()) return false;
    this.retriesLeft--;
    this.current = undefined;
    ex.previousEndpoint = this.policy.retryIgnorePreviousHosts ? ex.endpoint : undefined;
    const n = this.policy.attempts - this.retriesLeft;
    const base = this.policy.backoffMs > 0 ? this.policy.backoffMs : DEFAULT_BACKOFF_MS;
    const ms = Math.floor(this.random() * Math.min((2 ** n - 1) * base, 10 * base));
    this.timers.after(ms, this);
    return true;
  }
}

class Attempt implements ResponseHandler, Expirable {
  private readonly timer: RequestTimer | undefined;
  private committed = false;

  constructor(
    private readonly r: Retrying,
    private readonly ex: Exchange,
  ) {
    this.timer = r.policy.perTryTimeoutMs > 0 ? r.timers.after(r.policy.perTryTimeoutMs, this) : undefined;
  }

  private get live(): boolean {
    return this.r.current === this;
  }

  /** The per-try timeout. */
  expire(): void {
    const ex = this.ex;
    if (!this.live || this.committed) return;
    // The abort's own error report must not count: this attempt failed by timing out.
    this.r.current = undefined;
    ex.control?.abort(new Error('per-try timeout'));
    this.r.current = this;
    this.fail(ex, PER_TRY_TIMEOUT);
  }

  onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void {
    if (!this.live) return;
    if (control !== LOCAL_REPLY && statusRetriable(this.r.policy, status, headers)) {
      this.stopTimer();
      if (this.r.retry(ex)) {
        control.abort(new Error('retrying'));
        return;
      }
      if (this.r.retriesLeft <= 0 && this.r.policy.attempts > 0) ex.addFlag('URX');
    }
    this.committed = true;
    this.stopTimer();
    this.r.outer.onHeaders(ex, status, headers, control);
  }
  onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    if (this.live) this.r.outer.onData(ex, chunk, control);
  }
  onEnd(ex: Exchange, trailers?: ResponseHeaders): void {
    if (this.live) this.r.outer.onEnd(ex, trailers);
  }
  onError(ex: Exchange, failure: UpstreamFailureEvent): void {
    if (this.live) this.fail(ex, failure);
  }

  private fail(ex: Exchange, failure: UpstreamFailureEvent): void {
    this.stopTimer();
    if (!this.committed && failureRetriable(this.r.policy, failure) && this.r.retry(ex)) return;
    if (!this.committed && this.r.retriesLeft <= 0 && this.r.policy.attempts > 0 && failureRetriable(this.r.policy, failure)) ex.addFlag('URX');
    this.r.current = undefined;
    this.r.outer.onError(ex, failure);
  }

  private stopTimer(): void {
    this.r.timers.cancel(this.timer);
  }
}

/** The route's retry policy; Istio's default for the default route and a route that sets none. */
export function retryPolicyOf(ex: Exchange): RetryPolicy {
  return ex.route === undefined ? ISTIO_DEFAULT_RETRY : (ex.route.rule.route.retries ?? ISTIO_DEFAULT_RETRY);
}

export function retryRequest(random: () => number, timers: RequestTimers): Layer {
  return (next) => (ex, handler) => {
    const policy = retryPolicyOf(ex);
    // A body that is not kept (retry-buffer.ts) can be sent once only.
    if (policy.attempts === 0 || (ex.body !== null && ex.retryBuffer === undefined)) {
      ex.attempts++;
      next(ex, handler);
      return;
    }
    new Retrying(next, handler, policy, random, timers, ex).start(ex);
  };
}
