/**
 * Gateway listeners for one gateway proxy: the Gateways whose selector matches it, and the VirtualServices bound
 * to them (`gateways: [name]` in the same namespace, or `ns/name`), with Istio's host intersection between a
 * server's hosts and a VirtualService's hosts. Only plain HTTP servers are served so far.
 */
import type { GatewaySpec } from '../../config/kinds/gateway.js';
import type { VirtualServiceSpec } from '../../config/kinds/virtual-service.js';
import type { GatewayServer, HttpRoute, VirtualHost } from '../../proxyconfig/types.js';
import { hostMatches } from '../../route/http-route-match.js';
import { mergeDelegates } from '../../route/delegate.js';
import { translateHttpRoutes } from '../../route/virtual-service-routes.js';
import { CLUSTER_DOMAIN, selects } from '../registry/index.js';
import type { MeshSnapshot, Named } from './snapshot.js';
import { labelSetKey, perSnapshot, sharedSection } from './snapshot-memo.js';
import type { SharedSection } from './snapshot-memo.js';
import { gatewayNumTrustedProxies } from './gateway-topology.js';

/** The gateway section for one label set: the same object for every gateway replica that carries it. */
export function gatewaySection(snap: MeshSnapshot, labels: Record<string, string>): SharedSection<{ servers: GatewayServer[]; numTrustedProxies?: number }> {
  return perSnapshot(snap, `gateway:${labelSetKey(labels)}`, () => {
    const numTrustedProxies = gatewayNumTrustedProxies(snap, labels);
    // Absent means 0, so a mesh without trusted proxies compiles to the same bytes as before the setting existed.
    return sharedSection({ servers: compileGateway(snap, labels), ...(numTrustedProxies > 0 ? { numTrustedProxies } : {}) });
  });
}

export function compileGateway(snap: MeshSnapshot, labels: Record<string, string>): GatewayServer[] {
  const servers = new Map<number, GatewayServer>();
  const gateways = snap.gateways.filter((g) => selects(g.spec.selector, labels));
  for (const gw of gateways) {
    for (const server of gw.spec.servers ?? []) {
      if (server.port.protocol.toUpperCase() !== 'HTTP') continue;
      const port = server.port.number;
      const entry = servers.get(port) ?? { port, name: server.port.name, protocol: 'HTTP' as const, virtualHosts: [] };
      servers.set(port, entry);
      for (const vs of boundVirtualServices(snap.virtualServices, gw)) {
        const domains = intersectHosts(serverHosts(server.hosts, vs.namespace, gw.namespace), vs.spec.hosts ?? []);
        if (domains.length === 0) continue;
        const routes = compileHttpRoutes(vs, `${gw.namespace}/${gw.name}`, port, snap, labels, gw.namespace);
        if (routes.length > 0) entry.virtualHosts.push({ gateway: `${gw.namespace}/${gw.name}`, domains, routes });
      }
    }
  }
  for (const s of servers.values()) s.virtualHosts = mergeByDomain(s.virtualHosts);
  return [...servers.values()].sort((a, b) => a.port - b.port);
}

function boundVirtualServices(all: readonly Named<VirtualServiceSpec>[], gw: Named<GatewaySpec>): Named<VirtualServiceSpec>[] {
  return all
    .filter((vs) =>
      (vs.spec.gateways ?? []).some((ref) => ref === `${gw.namespace}/${gw.name}` || (ref === gw.name && vs.namespace === gw.namespace)),
    )
    .sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name));
}

/**
 * Server hosts are `[ns/]host`: `*` is any namespace, `.` the Gateway's own; only hosts visible to the
 * VirtualService's namespace count.
 */
function serverHosts(hosts: readonly string[], vsNamespace: string, gwNamespace: string): string[] {
  return hosts.flatMap((h) => {
    const slash = h.indexOf('/');
    if (slash < 0) return [h.toLowerCase()];
    const ns = h.slice(0, slash);
    return ns === '*' || ns === vsNamespace || (ns === '.' && vsNamespace === gwNamespace) ? [h.slice(slash + 1).toLowerCase()] : [];
  });
}

/** The more specific of each pair of matching hosts (Istio's intersection of gateway and VirtualService hosts). */
function intersectHosts(serverSide: readonly string[], vsSide: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of serverSide) {
    for (const raw of vsSide) {
      const b = raw.toLowerCase();
      if (hostMatches(a, b)) out.add(b);
      else if (hostMatches(b, a)) out.add(a);
    }
  }
  return [...out];
}

/** Routes of several VirtualServices for the same domains concatenate in creation order (Istio merges them). */
function mergeByDomain(hosts: VirtualHost[]): VirtualHost[] {
  const byKey = new Map<string, VirtualHost>();
  for (const vh of hosts) {
    const key = [...vh.domains].sort().join(',');
    const prior = byKey.get(key);
    if (prior) prior.routes.push(...vh.routes);
    else byKey.set(key, { ...vh, routes: [...vh.routes] });
  }
  return [...byKey.values()];
}

/** The shared route translation, delegates merged. */
function compileHttpRoutes(vs: Named<VirtualServiceSpec>, gatewayRef: string, port: number, snap: MeshSnapshot, labels: Record<string, string>, namespace: string): HttpRoute[] {
  const find = (ns: string, name: string): Named<VirtualServiceSpec> | undefined => snap.virtualServices.find((v) => v.namespace === ns && v.name === name);
  const http = mergeDelegates(vs, find);
  return translateHttpRoutes(
    { namespace: vs.namespace, name: vs.name, http },
    {
      gateways: new Set([gatewayRef]),
      port,
      labels,
      namespace,
      resolveHost,
      servicePorts: (host) => snap.registry.services.find((s) => s.host === host)?.ports.map((p) => p.port),
    },
  );
}

/** Istio resolves a short destination host in the VirtualService's namespace. */
export function resolveHost(host: string, namespace: string): string {
  const h = host.toLowerCase();
  if (h.includes('.svc.') || h.endsWith('.svc')) return h.endsWith('.svc') ? `${h}.${CLUSTER_DOMAIN}` : h;
  const parts = h.split('.');
  if (parts.length === 1) return `${h}.${namespace}.svc.${CLUSTER_DOMAIN}`;
  if (parts.length === 2) return `${h}.svc.${CLUSTER_DOMAIN}`;
  return h;
}
