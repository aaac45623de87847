/**
 * What a sidecar does with the requests its app sends to one service port, as Istio's sidecar routes and clusters:
 * the VirtualServices bound to the mesh (`gateways` unset or naming `mesh`) and exported to the caller's namespace
 * whose hosts (short names resolved in the VirtualService's namespace) cover the service, translated by the shared
 * route engine; and the clusters of the DestinationRule that applies, each with the endpoints its subset selects.
 */
import type { VirtualServiceSpec } from '../../config/kinds/virtual-service.js';
import type { HttpRoute, L4Route, OutboundPort, PortCluster } from '../../proxyconfig/types.js';
import { hostMatches } from '../../route/http-route-match.js';
import { exportedTo, mergeDelegates } from '../../route/delegate.js';
import { translateHttpRoutes, translateL4Routes } from '../../route/virtual-service-routes.js';
import type { RouteContext } from '../../route/virtual-service-routes.js';
import type { RegistryService } from '../registry/index.js';
import { targetPortOn, workloadsOf } from '../registry/index.js';
import { compileClusters } from './cluster-policy.js';
import type { ClientProxy } from './destination-rule.js';
import { resolveHost } from './gateway.js';
import { perSnapshot } from './snapshot-memo.js';
import type { MeshSnapshot, Named } from './snapshot.js';

interface MeshVirtualService {
  vs: Named<VirtualServiceSpec>;
  /** The hosts as FQDNs (or wildcard patterns), lower case. */
  hosts: string[];
}

/** VirtualServices that apply to sidecars, oldest first (several for one host concatenate, as Istio merges them). */
function meshVirtualServices(snap: MeshSnapshot): readonly MeshVirtualService[] {
  return perSnapshot(snap, 'mesh-virtual-services', () =>
    snap.virtualServices
      .filter((vs) => (vs.spec.hosts ?? []).length > 0 && (vs.spec.gateways === undefined || vs.spec.gateways.length === 0 || vs.spec.gateways.includes('mesh')))
      .sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name))
      .map((vs) => ({ vs, hosts: (vs.spec.hosts ?? []).map((h) => (h.startsWith('*') ? h.toLowerCase() : resolveHost(h, vs.namespace))) })),
  );
}

export function hasMeshVirtualServices(snap: MeshSnapshot): boolean {
  return meshVirtualServices(snap).length > 0;
}

/** True when a client's labels change what it is compiled (sourceLabels in a route, a DestinationRule's workloadSelector). */
export function clientLabelsMatter(snap: MeshSnapshot): boolean {
  return perSnapshot(snap, 'client-labels-matter', () => {
    const routes = snap.virtualServices.some((vs) =>
      [...(vs.spec.http ?? []), ...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])].some((r) => (r.match ?? []).some((m) => m.sourceLabels !== undefined)),
    );
    return routes || snap.destinationRules.some((dr) => dr.spec.workloadSelector !== undefined);
  });
}

const HTTP_PROTOCOLS = new Set(['http', 'http2', 'grpc']);

/**
 * The routes of one service port for a client: undefined when no VirtualService claims the host (the default
 * route), else the rules that apply there, possibly none (every request then gets 404).
 */
export function sidecarHttpRoutes(snap: MeshSnapshot, client: ClientProxy, svc: RegistryService, port: number): HttpRoute[] | undefined {
  const bound = boundVirtualServices(snap, client, svc);
  if (bound.length === 0) return undefined;
  const find = (ns: string, name: string): Named<VirtualServiceSpec> | undefined => snap.virtualServices.find((v) => v.namespace === ns && v.name === name);
  const ctx = routeContext(snap, client, port);
  return bound.flatMap(({ vs }) => translateHttpRoutes({ namespace: vs.namespace, name: vs.name, http: mergeDelegates(vs, find) }, ctx));
}

/**
 * The `tcp` or `tls` routes of one opaque service port for a client: undefined when no VirtualService bound to the
 * mesh claims the host or none has such routes for this port. Unlike HTTP, a connection no route matches is not
 * refused: Istio ends every outbound TCP listener with the default route to the service port.
 */
export function sidecarL4Routes(snap: MeshSnapshot, client: ClientProxy, svc: RegistryService, port: number, kind: 'tcp' | 'tls'): L4Route[] | undefined {
  const bound = boundVirtualServices(snap, client, svc);
  if (bound.length === 0) return undefined;
  const ctx = routeContext(snap, client, port);
  const routes = bound.flatMap(({ vs }) => translateL4Routes(vs, vs.spec[kind] ?? [], ctx));
  return routes.length === 0 ? undefined : routes;
}

function boundVirtualServices(snap: MeshSnapshot, client: ClientProxy, svc: { host: string }): readonly MeshVirtualService[] {
  return meshVirtualServices(snap).filter(({ vs, hosts }) => exportedTo(vs, client.namespace) && hosts.some((h) => hostMatches(h, svc.host)));
}

/**
 * The routes VirtualServices bound to the mesh give one host and port that is not a mesh service (a ServiceEntry
 * host: Istio's egress gateway task routes it to the gateway), by kind; undefined when none claims the host.
 */
export function hostRoutes(
  snap: MeshSnapshot,
  client: ClientProxy,
  host: string,
  port: number,
  imported: (namespace: string) => boolean,
): { http: HttpRoute[]; tls: L4Route[]; tcp: L4Route[] } | undefined {
  const bound = boundVirtualServices(snap, client, { host }).filter(({ vs }) => imported(vs.namespace));
  if (bound.length === 0) return undefined;
  const find = (ns: string, name: string): Named<VirtualServiceSpec> | undefined => snap.virtualServices.find((v) => v.namespace === ns && v.name === name);
  const ctx = routeContext(snap, client, port);
  return {
    http: bound.flatMap(({ vs }) => translateHttpRoutes({ namespace: vs.namespace, name: vs.name, http: mergeDelegates(vs, find) }, ctx)),
    tls: bound.flatMap(({ vs }) => translateL4Routes(vs, vs.spec.tls ?? [], ctx)),
    tcp: bound.flatMap(({ vs }) => translateL4Routes(vs, vs.spec.tcp ?? [], ctx)),
  };
}

/** Every VirtualService bound to the mesh whatever the client (for what must hold mesh-wide), with its FQDN hosts. */
export function allMeshVirtualServices(snap: MeshSnapshot): readonly { vs: Named<VirtualServiceSpec>; hosts: string[] }[] {
  return meshVirtualServices(snap);
}

function routeContext(snap: MeshSnapshot, client: ClientProxy, port: number): RouteContext {
  return {
    gateways: new Set(['mesh']),
    port,
    labels: client.labels,
    namespace: client.namespace,
    resolveHost,
    servicePorts: (host: string) => snap.registry.services.find((s) => s.host === host)?.ports.map((p) => p.port),
  };
}

/** The clusters of one service port when a DestinationRule applies; undefined when none does (the proxy's default). */
export function sidecarClusters(snap: MeshSnapshot, client: ClientProxy, svc: RegistryService, port: number): PortCluster[] | undefined {
  const clusters = compileClusters(snap, client, svc).filter((c) => c.port === port);
  if (clusters.length === 0 || clusters[0]!.destinationRules.length === 0) return undefined;
  const servicePort = svc.ports.find((p) => p.port === port);
  const backends = workloadsOf(snap.registry, svc).filter((w) => w.ready && w.podIP !== undefined && servicePort !== undefined && targetPortOn(w, servicePort) !== undefined);
  return clusters.map((c) => ({ ...c, endpoints: backends.filter((w) => carriesAll(w.labels, c.labels)).map((w) => w.podIP!) }));
}

/** A subset selects the endpoints that carry all its labels; the whole service (no labels) selects every one. */
function carriesAll(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  for (const k in wanted) if (labels[k] !== wanted[k]) return false;
  return true;
}

/** A service port with its routes and clusters for a client; the port object itself when none applies. */
export function withTraffic(snap: MeshSnapshot, client: ClientProxy, svc: RegistryService, p: OutboundPort, meshRoutes: boolean): OutboundPort {
  const httpPort = HTTP_PROTOCOLS.has(p.protocol);
  const http = meshRoutes && httpPort ? sidecarHttpRoutes(snap, client, svc, p.port) : undefined;
  // Opaque ports take tls routes (by the ClientHello's SNI) ahead of tcp routes, as Istio orders its filter chains.
  const tls = meshRoutes && !httpPort ? sidecarL4Routes(snap, client, svc, p.port, 'tls') : undefined;
  const tcp = meshRoutes && !httpPort ? sidecarL4Routes(snap, client, svc, p.port, 'tcp') : undefined;
  const clusters = sidecarClusters(snap, client, svc, p.port);
  if (http === undefined && tls === undefined && tcp === undefined && clusters === undefined) return p;
  return { ...p, ...(http !== undefined && { http }), ...(tls !== undefined && { tls }), ...(tcp !== undefined && { tcp }), ...(clusters !== undefined && { clusters }) };
}
