/**
 * A route destination that is a ServiceEntry host rather than a mesh service (the default route of a request to a
 * ServiceEntry host, or an egress gateway's route on to the external host, Istio's second route of its egress
 * gateway task): the entry's port decides where the request goes (external-destination.ts: its resolution,
 * endpoints or the host's own name), and how:
 *   http2 and grpc ports: a stream on a pooled HTTP/2 session to the host, h2c, or h2 over TLS this proxy
 *     originates with ALPN `h2` when a DestinationRule says SIMPLE or MUTUAL for the host and port (Istio's cluster
 *     protocol for those ports, whichever HTTP version the client spoke);
 *   other ports: the proxy's keep-alive pools (HTTP/1.1), in plaintext or over TLS originated in the same way
 *     (tls-origination.ts, the same code as at sidecars; Istio's "Egress Gateways with TLS Origination"). A TLS or
 *     TCP port is an HTTP destination only with such a rule.
 * A failed handshake is 503 `UF` with its reason. A DestinationRule's connection pool sets the pools' settings and
 * a circuit breaker, as at a mesh cluster (external-breakers.ts). Mesh services (a cluster in config) go on to
 * endpoint choice unchanged.
 */
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import type { HostResolver } from '../upstream/external-resolver.js';
import { externalDestination } from '../upstream/external-destination.js';
import type { Dispatcher } from 'undici';
import type { H2SessionPools } from '../http2/h2-session-pool.js';
import { H2UpstreamAttempt } from '../http2/h2-upstream.js';
import { UpstreamAttempt, failureOf } from './connect-upstream.js';
import { replyLocally } from './exchange.js';
import type { Dispatch, Exchange, Layer, ResponseHandler, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';
import type { ExternalRoute } from '../config/compiled-externals.js';
import type { ExternalCluster } from '../upstream/external-breakers.js';
import { headersForUpstream } from './upstream-headers.js';
import { authorityHost } from '../../route/http-route-match.js';
import { GATEWAY_ONLY_FLAG, gatewayOnlyRefusal } from '../outbound/egress-gateway-only.js';

const OVERLOADED = Object.freeze({ 'x-envoy-overloaded': 'true' });

/** Gives an admitted request's breaker slot back when its answer ends, however it ends (once). */
class ReleasingHandler implements ResponseHandler {
  #released = false;

  constructor(
    private readonly outer: ResponseHandler,
    private readonly cluster: ExternalCluster,
    private readonly holdsConnection: boolean,
  ) {}

  onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void {
    this.outer.onHeaders(ex, status, headers, control);
  }
  onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    this.outer.onData(ex, chunk, control);
  }
  onEnd(ex: Exchange, trailers?: ResponseHeaders): void {
    this.release();
    this.outer.onEnd(ex, trailers);
  }
  onError(ex: Exchange, failure: UpstreamFailureEvent): void {
    this.release();
    this.outer.onError(ex, failure);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.cluster.release(this.holdsConnection);
  }
}

export function externalDestinations(pools: EndpointPools, resolver: HostResolver, h2Pools?: H2SessionPools): Layer {
  /** To the entry's destination; `released` gives the breaker slot back if the request is dropped unsent. */
  const send = (ex: Exchange, handler: ResponseHandler, route: ExternalRoute, released: ReleasingHandler | undefined): void => {
    const dest = ex.destination!;
    const originate = route.originationFor(dest.host);
    externalDestination(route, { address: dest.host, port: dest.port }, dest.host, resolver).then(
      (to) => {
        if (ex.closed) {
          released?.release();
          return;
        }
        // Istio's auto SNI: the Host sent upstream names the server when the rule sets no `sni`.
        const host = authorityHost(ex.upstreamAuthority);
        // The host's DestinationRule connection pool, as at a mesh cluster (Istio's ServiceEntry clusters alike).
        const settings = route.poolSettingsFor(dest.host);
        // Only a host whose rule says `proxyProtocol` keeps its connections per client connection.
        const client = settings.proxyProtocol === null ? undefined : ex.proxiedClient();
        if (ex.upstreamH2) {
          const origination = originate === undefined ? undefined : { policy: originate, host };
          h2Pools!.external(to, origination, settings, client).acquire(new H2UpstreamAttempt(ex, handler, originate === undefined ? 'http' : 'https'));
          return;
        }
        const pool = originate === undefined ? pools.get(to, settings, client) : pools.originating({ ...to, host }, originate, settings, client);
        pool.dispatch(
          // maxRequestsPerConnection: 1 turns keep-alive off, as at a mesh cluster (connect-upstream.ts).
          { path: ex.upstreamPath, method: ex.method as Dispatcher.HttpMethod, headers: headersForUpstream(ex), body: ex.bodyForAttempt(), reset: settings.maxRequestsPerConnection === 1 },
          new UpstreamAttempt(ex, handler),
        );
      },
      (err: unknown) => {
        const f = failureOf(err);
        ex.reason = f.reason;
        replyLocally(ex, handler, f.status, f.reason, undefined, f.flag);
      },
    );
  };

  return (next: Dispatch): Dispatch => (ex, handler) => {
    const dest = ex.destination!;
    const externals = ex.cfg.externals;
    const route = ex.cfg.cluster(dest.host, dest.port, dest.subset) === undefined ? (externals.http(dest.host, dest.port) ?? externals.originatedHttp(dest.host, dest.port)) : undefined;
    if (route === undefined) {
      next(ex, handler);
      return;
    }
    // A sidecar's route straight to a host that leaves only through the egress gateway (gateways have no such hosts).
    const refusal = gatewayOnlyRefusal(ex.cfg, dest.host, undefined);
    if (refusal !== undefined) {
      ex.reason = refusal;
      replyLocally(ex, handler, 502, refusal, undefined, GATEWAY_ONLY_FLAG);
      return;
    }
    const protocol = route.port.protocol;
    ex.upstreamH2 = h2Pools !== undefined && (protocol === 'http2' || protocol === 'grpc');
    const pool = route.connectionPoolFor(dest.host);
    if (pool === undefined) {
      send(ex, handler, route, undefined);
      return;
    }
    // The rule's circuit breaker, as at a mesh cluster (endpoint-layer.ts): admitted, queued for a connection, or 503 UO.
    const cluster = pools.externalBreakers.cluster(route.hostFor(dest.host) ?? dest.host, dest.port, pool.policy);
    ex.cluster = cluster;
    const holds = !ex.upstreamH2;
    const released = new ReleasingHandler(handler, cluster, holds);
    const admission = cluster.admit(holds, { gone: () => ex.closed, start: () => send(ex, released, route, released) });
    if (!admission.admitted) {
      ex.reason = 'upstream overflow';
      replyLocally(ex, handler, 503, admission.body, OVERLOADED, 'UO');
    }
  };
}
