/**
 * Circuit breaking from a DestinationRule's connectionPool, with Envoy's thresholds: counters of the cluster's
 * active connections, pending requests, active requests and active retries, shared by all its hosts (Envoy's
 * breakers are per cluster), and the decision each admission makes. A refusal is one constant object, the 503 with
 * Envoy's `UO` (upstream overflow) flag and body, so the request path allocates nothing to say no.
 */
import type { ConnectionPoolPolicy } from '../../proxyconfig/types.js';

export type BreakerResource = 'connections' | 'pending_requests' | 'requests' | 'retries';

export interface Overflow {
  readonly admitted: false;
  readonly status: 503;
  readonly responseFlag: 'UO';
  readonly resource: BreakerResource;
  readonly body: string;
}

export interface Admitted {
  readonly admitted: true;
}

export const ADMITTED: Admitted = Object.freeze({ admitted: true });

/** Envoy's local reply for an overflowing request. */
const OVERFLOW_BODY = 'upstream connect error or disconnect/reset before headers. reset reason: overflow';

const overflowOf = (resource: BreakerResource): Overflow => Object.freeze({ admitted: false, status: 503, responseFlag: 'UO', resource, body: OVERFLOW_BODY });
const OVERFLOW: Readonly<Record<BreakerResource, Overflow>> = {
  connections: overflowOf('connections'),
  pending_requests: overflowOf('pending_requests'),
  requests: overflowOf('requests'),
  retries: overflowOf('retries'),
};

/** What a request needs from the pool when it is dispatched. */
export type ConnectionNeed = 'reuse' | 'connect' | 'queue';

export class CircuitBreaker {
  activeConnections = 0;
  pendingRequests = 0;
  activeRequests = 0;
  activeRetries = 0;
  /** Envoy's *_overflow counters, for metrics. */
  readonly overflows: Record<BreakerResource, number> = { connections: 0, pending_requests: 0, requests: 0, retries: 0 };

  constructor(private limits: ConnectionPoolPolicy) {}

  /** A config push changed the limits; the counters (requests already in flight) stay. */
  setLimits(limits: ConnectionPoolPolicy): void {
    this.limits = limits;
  }

  /** A new request (not a retry): refused when http2MaxRequests are already in flight. */
  startRequest(): Admitted | Overflow {
    if (this.activeRequests >= this.limits.maxRequests) return this.refuse('requests');
    this.activeRequests++;
    return ADMITTED;
  }

  endRequest(): void {
    if (this.activeRequests > 0) this.activeRequests--;
  }

  /**
   * An admitted request needs a connection. An idle one is reused; otherwise a new one is opened while fewer than
   * maxConnections are open; otherwise the request waits, if fewer than http1MaxPendingRequests already wait.
   * A refused request must still call endRequest().
   */
  acquireConnection(idleAvailable: boolean): ConnectionNeed | Overflow {
    if (idleAvailable) return 'reuse';
    if (this.activeConnections < this.limits.maxConnections) {
      this.activeConnections++;
      return 'connect';
    }
    this.overflows.connections++;
    if (this.pendingRequests >= this.limits.maxPendingRequests) return this.refuse('pending_requests');
    this.pendingRequests++;
    return 'queue';
  }

  /** A queued request got a connection, or gave up. */
  endPending(): void {
    if (this.pendingRequests > 0) this.pendingRequests--;
  }

  connectionClosed(): void {
    if (this.activeConnections > 0) this.activeConnections--;
  }

  /** A retry may start only while fewer than maxRetries are under way across the cluster; else the last answer stands. */
  startRetry(): boolean {
    if (this.activeRetries >= this.limits.maxRetries) {
      this.overflows.retries++;
      return false;
    }
    this.activeRetries++;
    return true;
  }

  endRetry(): void {
    if (this.activeRetries > 0) this.activeRetries--;
  }

  /** A connection that has served this many requests is closed after the current one (0 = no limit). */
  connectionSpent(requestsServed: number): boolean {
    return this.limits.maxRequestsPerConnection > 0 && requestsServed >= this.limits.maxRequestsPerConnection;
  }

  private refuse(resource: BreakerResource): Overflow {
    this.overflows[resource]++;
    return OVERFLOW[resource];
  }
}
