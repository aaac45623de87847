/**
 * What a sidecar does with calls to ServiceEntry hosts that VirtualServices bound to the mesh route (the first route
 * of Istio's egress gateway task: `gateways: [mesh]` → `istio-egressgateway.<root>.svc.cluster.local`), and which
 * hosts may leave only through an egress gateway.
 *
 * The gateway as the only exit is weft's rule beyond Istio (istio/istio#43065: in Istio a pod can still reach the
 * host directly, by its address, by SNI, or from a sidecar whose Sidecar resource hides the route). A host is
 * gateway-only when some mesh-bound VirtualService, wherever it is and whoever it is exported to, sends that host
 * to a service whose pods are egress gateways (`istio: egressgateway`, no sidecar): every sidecar then refuses to
 * dial it itself.
 */
import type { ExternalRoutes, ExternalService } from '../../proxyconfig/types.js';
import { hostMatches } from '../../route/http-route-match.js';
import { workloadsOf } from '../registry/index.js';
import type { ClientProxy } from './destination-rule.js';
import type { EgressScope } from './sidecar-scope.js';
import { resolveHost } from './gateway.js';
import { allMeshVirtualServices, hostRoutes } from './sidecar-routes.js';
import { perSnapshot } from './snapshot-memo.js';
import type { MeshSnapshot } from './snapshot.js';

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc']);

/** Istio's label on its egress gateway pods. */
const EGRESS_GATEWAY_LABEL = ['istio', 'egressgateway'] as const;

/** The mesh-bound routes of each exact host and port of the externals this sidecar sees. */
export function compileExternalRoutes(snap: MeshSnapshot, client: ClientProxy, externals: readonly ExternalService[], scope: EgressScope): ExternalRoutes {
  const out: ExternalRoutes = [];
  for (const e of externals) {
    for (const host of e.hosts) {
      if (host.startsWith('*')) continue;
      for (const p of e.ports) {
        // A Sidecar imports a VirtualService by its namespace and the host, as Istio's egress `hosts` select config.
        const routes = hostRoutes(snap, client, host, p.port, (ns) => scope.visible(ns, host) !== undefined);
        if (routes === undefined) continue;
        if (HTTP_PROTOCOLS.has(p.protocol)) out.push({ host, port: p.port, protocol: p.protocol, http: routes.http });
        else if (routes.tls.length > 0 || routes.tcp.length > 0) {
          out.push({ host, port: p.port, protocol: p.protocol, ...(routes.tls.length > 0 && { tls: routes.tls }), ...(routes.tcp.length > 0 && { tcp: routes.tcp }) });
        }
      }
    }
  }
  return out;
}

/** FQDNs of the registry services whose pods are egress gateways. */
function egressGatewayServices(snap: MeshSnapshot): ReadonlySet<string> {
  return perSnapshot(snap, 'egress-gateway-services', () => {
    const [k, v] = EGRESS_GATEWAY_LABEL;
    return new Set(
      snap.registry.services.filter((svc) => workloadsOf(snap.registry, svc).some((w) => !w.sidecar && w.labels[k] === v)).map((svc) => svc.host),
    );
  });
}

/** Every destination host a VirtualService's mesh-bound routes name, as FQDNs. */
function destinationsOf(vs: ReturnType<typeof allMeshVirtualServices>[number]['vs']): string[] {
  const routes = [...(vs.spec.http ?? []), ...(vs.spec.tls ?? []), ...(vs.spec.tcp ?? [])];
  return routes.flatMap((r) => {
    const boundToMesh = (r.match ?? []).length === 0 || (r.match ?? []).some((m) => m.gateways === undefined || m.gateways.length === 0 || m.gateways.includes('mesh'));
    return boundToMesh ? (r.route ?? []).map((d) => resolveHost(d.destination.host, vs.namespace)) : [];
  });
}

/**
 * The exact ServiceEntry hosts some mesh-bound VirtualService routes to an egress gateway, mesh-wide: the same list
 * for every sidecar, so a Sidecar that hides the VirtualService (or exportTo that keeps it from a namespace) does
 * not open the direct path.
 */
export function egressGatewayHosts(snap: MeshSnapshot): string[] {
  return perSnapshot(snap, 'egress-gateway-hosts', () => {
    const gateways = egressGatewayServices(snap);
    if (gateways.size === 0) return [];
    const entryHosts = snap.registry.serviceEntries.flatMap((e) => e.hosts.map((h) => h.toLowerCase()));
    const out = new Set<string>();
    for (const { vs, hosts } of allMeshVirtualServices(snap)) {
      if (!destinationsOf(vs).some((d) => gateways.has(d))) continue;
      for (const h of entryHosts) if (!h.startsWith('*') && hosts.some((vh) => hostMatches(vh, h))) out.add(h);
    }
    return [...out].sort();
  });
}
