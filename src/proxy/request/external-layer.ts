/**
 * A route destination that is a ServiceEntry host rather than a mesh service (an egress gateway's route on to the
 * external host, Istio's second route of its egress gateway task): the entry's HTTP port decides where the request
 * goes (external-destination.ts: its resolution, endpoints or the host's own name), and it is sent there in plaintext
 * from the proxy's keep-alive pools. Mesh services (a cluster in config) go on to endpoint choice unchanged.
 */
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import type { HostResolver } from '../upstream/external-resolver.js';
import { externalDestination } from '../upstream/external-destination.js';
import type { Dispatcher } from 'undici';
import { UpstreamAttempt, failureOf } from './connect-upstream.js';
import { replyLocally } from './exchange.js';
import type { Dispatch, Layer } from './exchange.js';
import { headersForUpstream } from './upstream-headers.js';
import { GATEWAY_ONLY_FLAG, gatewayOnlyRefusal } from '../outbound/egress-gateway-only.js';

export function externalDestinations(pools: EndpointPools, resolver: HostResolver): Layer {
  return (next: Dispatch): Dispatch => (ex, handler) => {
    const dest = ex.destination!;
    const route = ex.cfg.cluster(dest.host, dest.port, dest.subset) === undefined ? ex.cfg.externals.http(dest.host, dest.port) : undefined;
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
    externalDestination(route, { address: dest.host, port: dest.port }, dest.host, resolver).then(
      (to) => {
        if (ex.closed) return;
        pools.get(to).dispatch(
          { path: ex.upstreamPath, method: ex.method as Dispatcher.HttpMethod, headers: headersForUpstream(ex), body: ex.body },
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
}
