/**
 * Where one opaque connection to a mesh service port goes: the port's VirtualService `tls` routes first (they match
 * only a ClientHello with SNI), then its `tcp` routes, first match wins, a weighted split among the matched route's
 * destinations; no route, or none matching: the port itself, as Istio ends every outbound TCP listener with the
 * default route to the service. Pure: the route engine is shared with the control plane and the CLI.
 */
import type { BalancedPort } from '../config/compiled-config.js';
import { matchL4Route } from '../../route/l4-route-match.js';
import type { L4Request } from '../../route/l4-route-match.js';
import { pickWeighted } from '../../route/weighted.js';

export interface L4Destination {
  readonly host: string;
  readonly port: number;
  readonly subset?: string | undefined;
  /** `namespace/name#index` of the VirtualService route that chose it; absent for the default route. */
  readonly route?: string | undefined;
}

export function chooseL4Destination(balanced: BalancedPort, conn: L4Request, random: () => number): L4Destination | undefined {
  const matched = (conn.sni !== undefined && balanced.tlsRoutes !== undefined ? matchL4Route(balanced.tlsRoutes, conn) : undefined) ?? (balanced.tcpRoutes !== undefined ? matchL4Route(balanced.tcpRoutes, conn) : undefined);
  if (matched === undefined) return { host: balanced.host, port: balanced.port };
  const d = pickWeighted(matched.route.destinations, random);
  // Every weight zero: nothing to send to, Envoy's "no cluster" (NR).
  return d === undefined ? undefined : { host: d.host, port: d.port, subset: d.subset, route: matched.route.source };
}
