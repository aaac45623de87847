/**
 * Gateway listeners for one gateway proxy: the Gateways whose selector matches it, and the VirtualServices bound
 * to them (`gateways: [name]` in the same namespace, or `ns/name`), with Istio's host intersection between a
 * server's hosts and a VirtualService's hosts. HTTP servers share one route table per port; HTTPS, TLS and TCP
 * servers each become a chain of their own (gateway-tls.ts for their certificates).
 */
import type { GatewayServer as GatewayServerSpec, GatewaySpec } from '../../config/kinds/gateway.js';
import type { VirtualServiceSpec } from '../../config/kinds/virtual-service.js';
import type { GatewayChain, GatewayServer, HttpRoute, VirtualHost } from '../../proxyconfig/types.js';
import { hostMatches } from '../../route/http-route-match.js';
import { mergeDelegates } from '../../route/delegate.js';
import { translateHttpRoutes, translateL4Routes } from '../../route/virtual-service-routes.js';
import { isTerminated, serverTlsConfig } from './gateway-tls.js';
import { CLUSTER_DOMAIN, selects } from '../registry/index.js';
import type { MeshSnapshot, Named } from './snapshot.js';
import { labelSetKey, perSnapshot, sharedSection } from './snapshot-memo.js';
import type { SharedSection } from './snapshot-memo.js';
import { gatewayNumTrustedProxies } from './gateway-topology.js';

/**
 * The gateway section for one label set in one namespace (the namespace decides which Secrets a credentialName
 * names): the same object for every gateway replica that shares both.
 */
export function gatewaySection(snap: MeshSnapshot, labels: Record<string, string>, namespace: string): SharedSection<{ servers: GatewayServer[]; numTrustedProxies?: number }> {
  return perSnapshot(snap, `gateway:${namespace}:${labelSetKey(labels)}`, () => {
    const numTrustedProxies = gatewayNumTrustedProxies(snap, labels);
    // Absent means 0, so a mesh without trusted proxies compiles to the same bytes as before the setting existed.
    return sharedSection({ servers: compileGateway(snap, labels, namespace), ...(numTrustedProxies > 0 ? { numTrustedProxies } : {}) });
  });
}

type ServerProtocol = GatewayServer['protocol'];

/**
 * What a server is at the gateway: plain HTTP, TLS terminated or passed through, or TCP. HTTP2 and GRPC servers are
 * HTTP servers (the port takes HTTP/1.1 and h2c alike, as Envoy's codec AUTO does), and HTTPS ones when their `tls`
 * terminates (Istio treats any HTTP server with terminating TLS settings as HTTPS).
 */
function serverProtocol(server: GatewayServerSpec): ServerProtocol | undefined {
  const proto = server.port.protocol.toUpperCase();
  if (proto === 'HTTP') return 'HTTP';
  if (proto === 'HTTP2' || proto === 'GRPC') return server.tls !== undefined && isTerminated(server.tls.mode) ? 'HTTPS' : 'HTTP';
  if (proto === 'HTTPS' || proto === 'TLS') return proto;
  if (proto === 'TCP') return 'TCP';
  return undefined;
}

export function compileGateway(snap: MeshSnapshot, labels: Record<string, string>, namespace = snap.mesh.rootNamespace): GatewayServer[] {
  const servers = new Map<number, GatewayServer>();
  const gateways = snap.gateways.filter((g) => selects(g.spec.selector, labels));
  for (const gw of gateways) {
    const bound = boundVirtualServices(snap.virtualServices, gw);
    (gw.spec.servers ?? []).forEach((server, index) => {
      const protocol = serverProtocol(server);
      if (protocol === undefined) return;
      const port = server.port.number;
      const entry = servers.get(port) ?? { port, name: server.port.name, protocol, virtualHosts: [] };
      servers.set(port, entry);
      // Istio refuses a port shared by plain and TLS servers; the first server's protocol family keeps the port.
      if ((entry.protocol === 'HTTP') !== (protocol === 'HTTP') || (entry.protocol === 'TCP') !== (protocol === 'TCP')) return;
      const ctx = { snap, labels, gw, server, port, bound };
      if (protocol === 'HTTP') entry.virtualHosts.push(...httpVirtualHosts(ctx));
      else (entry.chains ??= []).push(serverChain(ctx, protocol, index, namespace));
    });
  }
  for (const s of servers.values()) s.virtualHosts = mergeByDomain(s.virtualHosts);
  return [...servers.values()].sort((a, b) => a.port - b.port);
}

interface ServerContext {
  snap: MeshSnapshot;
  labels: Record<string, string>;
  gw: Named<GatewaySpec>;
  server: GatewayServerSpec;
  port: number;
  bound: Named<VirtualServiceSpec>[];
}

/** The virtual hosts one server contributes: its bound VirtualServices' routes, or one redirect to https. */
function httpVirtualHosts(c: ServerContext): VirtualHost[] {
  const ref = `${c.gw.namespace}/${c.gw.name}`;
  if (c.server.tls?.httpsRedirect === true) {
    // Istio's require_tls: every host of this server answers 301 to https, whatever routes exist.
    return [{ gateway: ref, domains: c.server.hosts.map(hostPart), routes: [], httpsRedirect: true }];
  }
  const out: VirtualHost[] = [];
  for (const vs of c.bound) {
    const domains = intersectHosts(serverHosts(c.server.hosts, vs.namespace, c.gw.namespace), vs.spec.hosts ?? []);
    if (domains.length === 0) continue;
    const routes = compileHttpRoutes(vs, ref, c.port, c.snap, c.labels, c.gw.namespace);
    if (routes.length > 0) out.push({ gateway: ref, domains, routes });
  }
  return out;
}

/** One TLS or TCP server as a filter chain: chosen by SNI, with its own TLS settings and only its own routes. */
function serverChain(c: ServerContext, protocol: Exclude<ServerProtocol, 'HTTP'>, index: number, namespace: string): GatewayChain {
  const ref = `${c.gw.namespace}/${c.gw.name}`;
  const chain: GatewayChain = { server: `${ref}/${c.server.name ?? c.server.port.name ?? index}`, sniHosts: protocol === 'TCP' ? ['*'] : [...new Set(c.server.hosts.map(hostPart))] };
  const tls = c.server.tls;
  const mode = tls?.mode;
  if (protocol !== 'TCP' && tls !== undefined && isTerminated(mode)) chain.tls = serverTlsConfig({ ...tls, mode }, c.snap.secrets, namespace);
  const passthrough = protocol !== 'TCP' && chain.tls === undefined;
  const ctx = {
    gateways: new Set([ref]),
    port: c.port,
    labels: c.labels,
    namespace: c.gw.namespace,
    resolveHost,
    servicePorts: (host: string) => c.snap.registry.services.find((s) => s.host === host)?.ports.map((p) => p.port),
  };
  for (const vs of c.bound) {
    const domains = intersectHosts(serverHosts(c.server.hosts, vs.namespace, c.gw.namespace), vs.spec.hosts ?? []);
    if (domains.length === 0) continue;
    if (protocol === 'HTTPS' && !passthrough) {
      const routes = compileHttpRoutes(vs, ref, c.port, c.snap, c.labels, c.gw.namespace);
      if (routes.length > 0) (chain.virtualHosts ??= []).push({ gateway: ref, domains, routes });
    } else if (passthrough) {
      (chain.tlsRoutes ??= []).push(...translateL4Routes({ namespace: vs.namespace, name: vs.name }, vs.spec.tls ?? [], ctx));
    } else {
      (chain.tcp ??= []).push(...translateL4Routes({ namespace: vs.namespace, name: vs.name }, vs.spec.tcp ?? [], ctx));
    }
  }
  if (chain.virtualHosts) chain.virtualHosts = mergeByDomain(chain.virtualHosts);
  return chain;
}

/** A server host without its `namespace/` part, lower case. */
function hostPart(h: string): string {
  const slash = h.indexOf('/');
  return (slash < 0 ? h : h.slice(slash + 1)).toLowerCase();
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
