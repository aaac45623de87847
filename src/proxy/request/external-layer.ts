/**
 * A route destination that is a ServiceEntry host rather than a mesh service (an egress gateway's route on to the
 * external host, Istio's second route of its egress gateway task): the entry's port decides where the request goes
 * (external-destination.ts: its resolution, endpoints or the host's own name), and it is sent there from the
 * proxy's keep-alive pools: in plaintext, or over TLS the proxy originates when a DestinationRule says SIMPLE or
 * MUTUAL for the host and port (tls-origination.ts, the same code as at sidecars; Istio's "Egress Gateways with TLS
 * Origination"). A TLS or TCP port is an HTTP destination only with such a rule. A failed handshake is 503 `UF` with
 * its reason. Mesh services (a cluster in config) go on to endpoint choice unchanged.
 */
import type { EndpointPools } from '../upstream/endpoint-pools.js';
import type { HostResolver } from '../upstream/external-resolver.js';
import { externalDestination } from '../upstream/external-destination.js';
import type { Dispatcher } from 'undici';
import { UpstreamAttempt, failureOf } from './connect-upstream.js';
import { replyLocally } from './exchange.js';
import type { Dispatch, Layer } from './exchange.js';
import { headersForUpstream } from './upstream-headers.js';
import { authorityHost } from '../../route/http-route-match.js';

export function externalDestinations(pools: EndpointPools, resolver: HostResolver): Layer {
  return (next: Dispatch): Dispatch => (ex, handler) => {
    const dest = ex.destination!;
    const externals = ex.cfg.externals;
    const route = ex.cfg.cluster(dest.host, dest.port, dest.subset) === undefined ? (externals.http(dest.host, dest.port) ?? externals.originatedHttp(dest.host, dest.port)) : undefined;
    if (route === undefined) {
      next(ex, handler);
      return;
    }
    externalDestination(route, { address: dest.host, port: dest.port }, dest.host, resolver).then(
      (to) => {
        if (ex.closed) return;
        const originate = route.originationFor(dest.host);
        // Istio's auto SNI: the Host sent upstream names the server when the rule sets no `sni`.
        const pool = originate === undefined ? pools.get(to) : pools.originating({ ...to, host: authorityHost(ex.upstreamAuthority) }, originate);
        pool.dispatch(
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
