/**
 * Circuit breaking for clusters outside the mesh (a ServiceEntry host and port with a DestinationRule connection
 * pool), with the mesh clusters' own CircuitBreaker and the same rules as the endpoint layer: a request is refused
 * past maxRequests (http2MaxRequests); an HTTP/1.1 request holds a connection until its answer ends, and beyond
 * maxConnections waits, up to http1MaxPendingRequests, for one to be released; past that it is refused (503 `UO`,
 * `x-envoy-overloaded`, by the caller). The breaker also bounds retries (maxRetries) through the exchange.
 * Counters live here, keyed by Envoy's cluster name, so a push that changes the limits keeps the requests in flight
 * (one entry per ServiceEntry host and port a rule has configured, a few counters each).
 */
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import type { ConnectionPoolPolicy } from '../../proxyconfig/types.js';

/** A request waiting for a connection: started when one is released, unless it has gone away by then. */
export interface WaitingRequest {
  gone(): boolean;
  start(): void;
}

export type Admission = { admitted: true } | { admitted: false; body: string };

const ADMITTED: Admission = Object.freeze({ admitted: true });

export class ExternalCluster {
  readonly breaker: CircuitBreaker;
  readonly #waiting: WaitingRequest[] = [];

  constructor(readonly name: string, policy: ConnectionPoolPolicy) {
    this.breaker = new CircuitBreaker(policy);
  }

  /**
   * Admit a request: `start` now, or later when a connection is released (queued; `admitted` all the same), or
   * refused with the overflow's body. An admitted request must call `release` when its answer ends.
   */
  admit(holdsConnection: boolean, request: WaitingRequest): Admission {
    const started = this.breaker.startRequest();
    if (!started.admitted) return { admitted: false, body: started.body };
    if (!holdsConnection) {
      request.start();
      return ADMITTED;
    }
    const need = this.breaker.acquireConnection(false);
    if (typeof need === 'object') {
      this.breaker.endRequest();
      return { admitted: false, body: need.body };
    }
    if (need === 'queue') this.#waiting.push(request);
    else request.start();
    return ADMITTED;
  }

  /** The answer of an admitted request ended: its connection goes to the next waiting request, else it is free. */
  release(holdsConnection: boolean): void {
    this.breaker.endRequest();
    if (!holdsConnection) return;
    while (this.#waiting.length > 0) {
      const next = this.#waiting.shift()!;
      this.breaker.endPending();
      if (next.gone()) {
        this.breaker.endRequest();
        continue;
      }
      next.start();
      return;
    }
    this.breaker.connectionClosed();
  }
}

export class ExternalBreakers {
  readonly #clusters = new Map<string, { cluster: ExternalCluster; policy: ConnectionPoolPolicy }>();

  /** Envoy's name for the cluster of a ServiceEntry host and port: `outbound|<port>||<host>`. */
  cluster(host: string, port: number, policy: ConnectionPoolPolicy): ExternalCluster {
    const name = `outbound|${port}||${host}`;
    const known = this.#clusters.get(name);
    if (known !== undefined) {
      // Each push compiles a new policy object: the limits follow it, the counters stay.
      if (known.policy !== policy) {
        known.cluster.breaker.setLimits(policy);
        known.policy = policy;
      }
      return known.cluster;
    }
    const cluster = new ExternalCluster(name, policy);
    this.#clusters.set(name, { cluster, policy });
    return cluster;
  }
}
