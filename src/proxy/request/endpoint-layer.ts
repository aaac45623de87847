/**
 * Choose the endpoint: the destination's cluster (its subset; none known is 503 `NR`), admission by the cluster's
 * circuit breaker (503 `UO` with `x-envoy-overloaded`), a host from the balancer over the hosts outlier detection has
 * not ejected (none: 503 `UH`), then on to connect. The answer is reported back to outlier detection (a gRPC answer
 * by its grpc-status mapped to HTTP as Envoy's router does, from the headers of a trailers-only answer or else from
 * the trailers), and the host's and breaker's counts are released when it ends. State comes from the EndpointRegistry, so it outlives pushes.
 *
 * Connections, as the breaker counts them: HTTP/1.1 carries one request at a time, so a request in flight holds a
 * connection; beyond maxConnections requests wait (up to http1MaxPendingRequests) for one to be released. A port
 * that speaks HTTP/2 multiplexes its requests over a few sessions per endpoint (h2-session-pool.ts): its requests
 * are bounded by maxRequests (Istio's http2MaxRequests) and hold no connection each.
 */
import type { ClusterRuntime, EndpointState } from '../balance/cluster-runtime.js';
import type { EndpointRegistry } from '../balance/endpoint-registry.js';
import type { PickContext } from '../balance/balancer.js';
import { hashKeyOf } from '../balance/hash-key.js';
import { grpcStatusToHttp } from '../resilience/grpc-status.js';
import { isGrpcRequest } from '../http2/grpc-status.js';
import { LOCAL_REPLY, replyLocally } from './exchange.js';
import type { Dispatch, Exchange, Layer, ResponseHandler, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';

const OVERLOADED = Object.freeze({ 'x-envoy-overloaded': 'true' });
const NO_HEALTHY_UPSTREAM = 'no healthy upstream';
/** Envoy's host_selection_retry_max_attempts as Istio sets it: tries to find a host other than the previous one. */
const HOST_SELECTION_ATTEMPTS = 5;

interface Waiting {
  ex: Exchange;
  handler: ResponseHandler;
}

/** Releases the host and the breaker when the answer ends, and tells outlier detection how it went. */
class EndpointResponse implements ResponseHandler {
  private released = false;
  /** A gRPC answer whose status comes in the trailers: reported to outlier detection then. */
  private grpcPending = false;
  /** The answer's status was reported: an abort after it (a retry dropping the answer) is not a second failure. */
  private reported = false;

  constructor(
    private readonly path: EndpointPath,
    private readonly outer: ResponseHandler,
    private readonly cluster: ClusterRuntime,
    private readonly host: EndpointState,
    /** A generated consistent-hash cookie for the client to keep. */
    private readonly setCookie: string | undefined,
    /** An HTTP/1.1 request holds a connection until its answer ends. */
    private readonly holdsConnection: boolean,
  ) {}

  onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void {
    const detector = this.cluster.outlierDetector;
    if (control !== LOCAL_REPLY && detector !== undefined) {
      this.reported = true;
      const grpc = headers['grpc-status'];
      if (typeof grpc === 'string') detector.reportStatus(this.host, grpcStatusToHttp(Number(grpc)));
      else if (status === 200 && isGrpcRequest(headers['content-type'])) this.grpcPending = true;
      else detector.reportStatus(this.host, status);
    }
    if (this.setCookie !== undefined) {
      const prior = headers['set-cookie'];
      headers['set-cookie'] = prior === undefined ? this.setCookie : [...(Array.isArray(prior) ? prior : [prior]), this.setCookie];
    }
    this.outer.onHeaders(ex, status, headers, control);
  }
  onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    this.outer.onData(ex, chunk, control);
  }
  onEnd(ex: Exchange, trailers?: ResponseHeaders): void {
    if (this.grpcPending) {
      const grpc = trailers?.['grpc-status'];
      // A gRPC answer without a status is an INTERNAL error to the client (gRPC's PROTOCOL-HTTP2).
      this.cluster.outlierDetector?.reportStatus(this.host, grpcStatusToHttp(typeof grpc === 'string' ? Number(grpc) : 13));
    }
    this.release();
    this.outer.onEnd(ex, trailers);
  }
  onError(ex: Exchange, failure: UpstreamFailureEvent): void {
    const detector = this.cluster.outlierDetector;
    if (detector !== undefined && failure.kind !== 'protocol' && !this.reported) detector.reportLocalOrigin(this.host, failure.kind === 'timeout' ? 'timeout' : 'connect-failed');
    this.release();
    this.outer.onError(ex, failure);
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.host.activeRequests--;
    this.cluster.breaker.endRequest();
    if (this.holdsConnection) this.path.connectionReleased(this.cluster);
  }
}

/** The layer's own state: requests waiting for a connection, per cluster. */
class EndpointPath {
  private readonly waiting = new WeakMap<ClusterRuntime, Waiting[]>();
  private readonly pickContext: { random: () => number; hashKey: number | undefined; originalAddress: string | undefined };

  constructor(
    private readonly next: Dispatch,
    private readonly registry: EndpointRegistry,
    random: () => number,
  ) {
    this.pickContext = { random, hashKey: undefined, originalAddress: undefined } satisfies PickContext;
  }

  dispatch(ex: Exchange, handler: ResponseHandler): void {
    const dest = ex.destination!;
    const binding = ex.cfg.cluster(dest.host, dest.port, dest.subset);
    const cluster = binding === undefined ? undefined : this.registry.cluster(binding.config.name);
    if (binding === undefined || cluster === undefined) {
      ex.reason = NO_HEALTHY_UPSTREAM;
      replyLocally(ex, handler, 503, NO_HEALTHY_UPSTREAM, undefined, 'NR');
      return;
    }
    ex.binding = binding;
    ex.cluster = cluster;
    const breaker = cluster.breaker;
    const admitted = breaker.startRequest();
    if (!admitted.admitted) {
      this.overflow(ex, handler, admitted.body);
      return;
    }
    const protocol = ex.cfg.service(dest.host)?.ports.get(dest.port)?.protocol;
    ex.upstreamH2 = protocol === 'http2' || protocol === 'grpc';
    if (ex.upstreamH2) {
      this.send(ex, handler, cluster);
      return;
    }
    const need = breaker.acquireConnection(false);
    if (typeof need === 'object') {
      breaker.endRequest();
      this.overflow(ex, handler, need.body);
      return;
    }
    if (need === 'queue') {
      const queue = this.waiting.get(cluster);
      if (queue === undefined) this.waiting.set(cluster, [{ ex, handler }]);
      else queue.push({ ex, handler });
      return;
    }
    this.send(ex, handler, cluster);
  }

  /** A request in flight ended: its connection goes to the next waiting request, else it is free again. */
  connectionReleased(cluster: ClusterRuntime): void {
    const queue = cluster.breaker.pendingRequests > 0 ? this.waiting.get(cluster) : undefined;
    while (queue !== undefined && queue.length > 0) {
      const w = queue.shift()!;
      cluster.breaker.endPending();
      if (w.ex.closed) {
        cluster.breaker.endRequest();
        continue;
      }
      this.send(w.ex, w.handler, cluster);
      return;
    }
    cluster.breaker.connectionClosed();
  }

  private send(ex: Exchange, handler: ResponseHandler, cluster: ClusterRuntime): void {
    const lb = ex.binding!.config.policy.loadBalancer;
    const hash = 'hashKey' in lb ? hashKeyOf(lb.hashKey, ex) : undefined;
    // One context for every pick: requests are handled one at a time, so setting the key before picking is enough.
    this.pickContext.hashKey = hash?.key;
    this.pickContext.originalAddress = ex.dialledAddress;
    const host = this.pick(cluster, ex.previousEndpoint);
    // A retry after a push balances over the new hosts while the request keeps its config: a host that config does
    // not know cannot be reached from it.
    const upstream = host === undefined ? undefined : ex.binding!.endpoints.get(host.address);
    if (host === undefined || upstream === undefined) {
      cluster.breaker.endRequest();
      if (!ex.upstreamH2) this.connectionReleased(cluster);
      ex.reason = NO_HEALTHY_UPSTREAM;
      replyLocally(ex, handler, 503, NO_HEALTHY_UPSTREAM, undefined, 'UH');
      return;
    }
    ex.endpoint = host;
    ex.upstream = upstream;
    host.activeRequests++;
    this.next(ex, new EndpointResponse(this, handler, cluster, host, hash?.setCookie, !ex.upstreamH2));
  }

  private pick(cluster: ClusterRuntime, avoid: EndpointState | undefined): EndpointState | undefined {
    let host = cluster.pick(this.pickContext);
    for (let i = 1; avoid !== undefined && host === avoid && i < HOST_SELECTION_ATTEMPTS; i++) host = cluster.pick(this.pickContext);
    return host;
  }

  private overflow(ex: Exchange, handler: ResponseHandler, body: string): void {
    ex.reason = 'upstream overflow';
    replyLocally(ex, handler, 503, body, OVERLOADED, 'UO');
  }
}

export function chooseEndpoint(registry: EndpointRegistry, random: () => number): Layer {
  return (next) => {
    const path = new EndpointPath(next, registry, random);
    return (ex, handler) => path.dispatch(ex, handler);
  };
}
