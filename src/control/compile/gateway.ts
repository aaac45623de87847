/**
 * Gateway listeners for one gateway proxy: the Gateways whose selector matches it, and the VirtualServices bound
 * to them (`gateways: [name]` in the same namespace, or `ns/name`), with Istio's host intersection between a
 * server's hosts and a VirtualService's hosts. Only plain HTTP servers are served so far.
 */
import type { GatewaySpec } from '../../config/kinds/gateway.js';
import type { HttpMatchRequest, HttpRoute as VsHttpRoute, VirtualServiceSpec } from '../../config/kinds/virtual-service.js';
import { tryParseDuration } from '../../config/duration.js';
import type { GatewayServer, HttpMatch, HttpRoute, StringMatch, VirtualHost } from '../../proxyconfig/types.js';
import { hostMatches } from '../../route/http-route-match.js';
import { CLUSTER_DOMAIN, selects } from '../registry/index.js';
import type { Registry } from '../registry/index.js';
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
        const routes = compileHttpRoutes(vs, `${gw.namespace}/${gw.name}`, port, snap.registry);
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

function compileHttpRoutes(vs: Named<VirtualServiceSpec>, gatewayRef: string, port: number, reg: Registry): HttpRoute[] {
  const routes: HttpRoute[] = [];
  (vs.spec.http ?? []).forEach((r, i) => {
    const matches = (r.match ?? []).filter((m) => matchAppliesTo(m, gatewayRef, vs.namespace, port));
    if ((r.match ?? []).length > 0 && matches.length === 0) return;
    const destinations = (r.route ?? []).map((d) => ({
      host: resolveHost(d.destination.host, vs.namespace),
      port: d.destination.port?.number ?? onlyPort(reg, resolveHost(d.destination.host, vs.namespace)) ?? 80,
      weight: d.weight ?? ((r.route ?? []).length === 1 ? 100 : 0),
    }));
    if (destinations.length === 0) return;
    routes.push({
      source: `${vs.namespace}/${vs.name}#${i}`,
      name: r.name ?? '',
      match: matches.map(toHttpMatch),
      destinations,
      rewrite: rewriteOf(r),
      timeoutMs: r.timeout ? (tryParseDuration(r.timeout) ?? 0) : 0,
    });
  });
  return routes;
}

function rewriteOf(r: VsHttpRoute): HttpRoute['rewrite'] {
  if (!r.rewrite || (r.rewrite.uri === undefined && r.rewrite.authority === undefined)) return undefined;
  return { uri: r.rewrite.uri, authority: r.rewrite.authority };
}

/** A match entry's `gateways` limits it to those gateways; `port` to that listener. */
function matchAppliesTo(m: HttpMatchRequest, gatewayRef: string, vsNamespace: string, port: number): boolean {
  if (m.port !== undefined && m.port !== port) return false;
  if (!m.gateways || m.gateways.length === 0) return true;
  return m.gateways.some((g) => g === gatewayRef || `${vsNamespace}/${g}` === gatewayRef);
}

function toStringMatch(m: { exact?: string; prefix?: string; regex?: string } | undefined): StringMatch | undefined {
  if (!m) return undefined;
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { regex: m.regex };
  return undefined;
}

function toMatchMap(map: Record<string, { exact?: string; prefix?: string; regex?: string }> | undefined): Record<string, StringMatch> | undefined {
  if (!map) return undefined;
  const out: Record<string, StringMatch> = {};
  // An empty match object means "present with any value": a prefix of '' says exactly that.
  for (const [k, v] of Object.entries(map)) out[k] = toStringMatch(v) ?? { prefix: '' };
  return out;
}

function toHttpMatch(m: HttpMatchRequest): HttpMatch {
  return {
    uri: toStringMatch(m.uri),
    method: toStringMatch(m.method),
    authority: toStringMatch(m.authority),
    scheme: toStringMatch(m.scheme),
    headers: toMatchMap(m.headers),
    withoutHeaders: toMatchMap(m.withoutHeaders),
    queryParams: toMatchMap(m.queryParams),
    ignoreUriCase: m.ignoreUriCase,
  };
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

function onlyPort(reg: Registry, host: string): number | undefined {
  const svc = reg.services.find((s) => s.host === host);
  return svc && svc.ports.length === 1 ? svc.ports[0]!.port : undefined;
}
