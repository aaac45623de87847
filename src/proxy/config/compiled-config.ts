/**
 * A received ProxyConfig turned into lookup structures once, so the per-request path is a few Map lookups.
 * Instances are immutable after construction and swapped in whole: a request sees one config from start to end.
 */
import { WeftError } from '../../errors.js';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { ClusterConfig, Endpoint, OutboundPort, OutboundTrafficPolicyMode, PeerAuthnMode, PortProtocol, ProxyConfig, VirtualHost } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import type { ClusterEndpoints } from '../balance/endpoint-registry.js';
import { placeEndpoints } from '../balance/locality-placement.js';
import { compileRoutes, hostMatches } from '../../route/http-route-match.js';
import type { CompiledRoute } from '../../route/http-route-match.js';
import { compileL4Routes } from '../../route/l4-route-match.js';
import type { CompiledL4Route } from '../../route/l4-route-match.js';
import { compileSecurity } from '../security/compiled-security.js';
import type { CompiledSecurity } from '../security/compiled-security.js';
import { CompiledExternals } from './compiled-externals.js';
import { compileRateLimits } from '../ratelimit/compiled-rate-limit.js';
import type { CompiledRateLimits } from '../ratelimit/compiled-rate-limit.js';
import { httpPoolSettings } from '../upstream/endpoint-pools.js';
import type { HttpPoolSettings } from '../upstream/endpoint-pools.js';
import { GRPC_MAX_MESSAGE_BYTES_DEFAULT } from '../http2/grpc-message-limit.js';

/**
 * One cluster of a service port (the whole service, or a subset): its config, and its endpoints by address. The
 * balancing state lives in the proxy's EndpointRegistry under `config.name`, not here, so it survives pushes.
 */
export interface ClusterBinding {
  readonly config: ClusterConfig;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  /** Istio's SNI for mTLS to the port (outbound_.<port>_._.<fqdn> names the port, whatever the subset), or an ISTIO_MUTUAL rule's `sni`. */
  readonly sni: string;
  /** The cluster's HTTP/1.1 connection settings, made once per config rather than per request. */
  readonly httpPool: HttpPoolSettings;
}

export class BalancedPort {
  #next = 0;
  /** Istio's SNI for mTLS to this port: outbound_.<port>_._.<fqdn> */
  readonly sni: string;
  /** The VirtualService rules for this port; undefined: the default route. */
  readonly routes: readonly CompiledRoute[] | undefined;
  /** Subset name ('' for the whole service) → cluster. */
  readonly clusters: ReadonlyMap<string, ClusterBinding>;
  /** Opaque ports: the VirtualService tls routes (by SNI) and tcp routes; undefined: none, the default route. */
  readonly tlsRoutes: readonly CompiledL4Route[] | undefined;
  readonly tcpRoutes: readonly CompiledL4Route[] | undefined;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly endpoints: readonly Endpoint[],
    /** Decides how a captured connection to the service's address is carried: parsed as HTTP, or piped opaque. */
    readonly protocol: PortProtocol = 'http',
    traffic?: Pick<OutboundPort, 'http' | 'clusters' | 'tcp' | 'tls'>,
  ) {
    this.sni = `outbound_.${port}_._.${host}`;
    this.routes = traffic?.http === undefined ? undefined : compileRoutes(traffic.http);
    this.tlsRoutes = traffic?.tls === undefined ? undefined : compileL4Routes(traffic.tls);
    this.tcpRoutes = traffic?.tcp === undefined ? undefined : compileL4Routes(traffic.tcp);
    this.clusters = bindClusters(host, port, endpoints, this.sni, traffic?.clusters);
  }

  /** Round robin; the counter is the only mutable state and only orders picks. */
  pick(): Endpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    const ep = this.endpoints[this.#next % n];
    this.#next = (this.#next + 1) % n;
    return ep;
  }
}

function bindClusters(host: string, port: number, endpoints: readonly Endpoint[], sni: string, clusters: OutboundPort['clusters']): Map<string, ClusterBinding> {
  const byAddress = new Map(endpoints.map((e) => [e.address, e] as const));
  const out = new Map<string, ClusterBinding>();
  if (clusters === undefined) {
    const config: ClusterConfig = { name: `outbound|${port}||${host}`, host, port, subset: null, labels: {}, destinationRules: [], policy: DEFAULT_TRAFFIC_POLICY };
    out.set('', { config, endpoints: byAddress, sni, httpPool: httpPoolSettings(config.policy.connectionPool, config.policy.proxyProtocol) });
    return out;
  }
  for (const { endpoints: addresses, ...config } of clusters) {
    const members = new Map<string, Endpoint>();
    for (const a of addresses) {
      const ep = byAddress.get(a);
      if (ep) members.set(a, ep);
    }
    out.set(config.subset ?? '', { config, endpoints: members, sni: meshSni(config, sni), httpPool: httpPoolSettings(config.policy.connectionPool, config.policy.proxyProtocol) });
  }
  return out;
}

/**
 * ISTIO_MUTUAL with `sni`: the rule names the SNI the mTLS connection presents (Istio's egress gateway task sets it
 * to the external host, so the gateway's ISTIO_MUTUAL server for that host is chosen); else Istio's own.
 */
function meshSni(config: ClusterConfig, sni: string): string {
  const tls = config.policy.tls;
  return tls?.mode === 'ISTIO_MUTUAL' && tls.sni !== null ? tls.sni : sni;
}

export interface CompiledService {
  host: string;
  ports: Map<number, BalancedPort>;
  /** Virtual addresses: what a connection to the service by name is taken to have dialled (destinationSubnets). */
  addresses: readonly string[];
}

export interface CompiledVirtualHost {
  gateway: string;
  domains: string[];
  routes: CompiledRoute[];
  httpsRedirect: boolean;
}

export interface CompiledInbound {
  defaultMode: PeerAuthnMode;
  /** App port → mode. */
  modes: Map<number, PeerAuthnMode>;
  /** App port → protocol: opaque TCP ports are piped, not parsed. */
  protocols: Map<number, PortProtocol>;
  /** `host:port` of a service port → app port. */
  targetPorts: Map<string, number>;
  /** Service port alone → app port, when unambiguous (plaintext requests carry only a short Host). */
  targetByServicePort: Map<number, number>;
  /** App port → the FQDNs of the services whose ports target it: what telemetry may name as the destination. */
  servicesByAppPort: Map<number, readonly string[]>;
  appPorts: number[];
  /** True when no port accepts plaintext: a non-TLS connection is refused on its first byte. */
  strictEverywhere: boolean;
  /** The LocalRateLimitPolicy of each app port. */
  rateLimits: CompiledRateLimits;
}

export class CompiledProxyConfig {
  readonly version: string;
  readonly raw: ProxyConfig;
  readonly byAlias = new Map<string, CompiledService>();
  readonly byHost = new Map<string, CompiledService>();
  readonly inbound: CompiledInbound | null;
  /** Gateway listeners: server port → virtual hosts in config order. */
  readonly gatewayServers = new Map<number, CompiledVirtualHost[]>();
  readonly security: CompiledSecurity;
  /** Service virtual address → service: what a captured connection dialled. */
  readonly byAddress = new Map<string, CompiledService>();
  readonly externals: CompiledExternals;
  /**
   * `podIP:targetPort` → the service port whose cluster balances with PASSTHROUGH: a captured connection the app
   * dialled to one of its endpoints directly goes through the mesh to that endpoint.
   */
  readonly byPassthroughEndpoint = new Map<string, BalancedPort>();
  /** For destinations that are neither a mesh service nor a ServiceEntry. */
  readonly trafficPolicy: OutboundTrafficPolicyMode;
  /** The largest gRPC message let through either way (grpc-message-limit.ts). */
  readonly grpcMaxMessageBytes: number;
  /** `host:port` of a ServiceEntry host with mesh-bound routes → those routes, as a port without endpoints of its own. */
  readonly routedExternals = new Map<string, BalancedPort>();
  /** ServiceEntry hosts that leave only through an egress gateway: this sidecar never dials them itself. */
  readonly egressGatewayHosts: ReadonlySet<string>;

  constructor(config: ProxyConfig) {
    this.version = config.version;
    this.raw = config;
    this.grpcMaxMessageBytes = config.security.grpcMaxMessageBytes ?? GRPC_MAX_MESSAGE_BYTES_DEFAULT;
    for (const svc of config.outbound.services) {
      const compiled: CompiledService = { host: svc.host, ports: new Map(), addresses: svc.addresses };
      for (const p of svc.ports) {
        const bp = new BalancedPort(svc.host, p.port, p.endpoints, p.protocol, p);
        compiled.ports.set(p.port, bp);
        if (bp.clusters.get('')?.config.policy.loadBalancer.policy !== 'PASSTHROUGH') continue;
        for (const ep of p.endpoints) if (!this.byPassthroughEndpoint.has(`${ep.address}:${ep.targetPort}`)) this.byPassthroughEndpoint.set(`${ep.address}:${ep.targetPort}`, bp);
      }
      this.byHost.set(svc.host, compiled);
      for (const alias of svc.aliases) this.byAlias.set(alias, compiled);
      for (const address of svc.addresses) if (!this.byAddress.has(address)) this.byAddress.set(address, compiled);
    }
    this.externals = new CompiledExternals(config.outbound.externals);
    this.trafficPolicy = config.outbound.trafficPolicy;
    for (const r of config.outbound.externalRoutes ?? []) this.routedExternals.set(`${r.host}:${r.port}`, new BalancedPort(r.host, r.port, [], r.protocol, r));
    this.egressGatewayHosts = new Set(config.outbound.egressGatewayHosts ?? []);
    this.inbound = config.inbound ? compileInbound(config.inbound) : null;
    this.security = compileSecurity(config);
    for (const server of config.gateway?.servers ?? []) {
      this.gatewayServers.set(server.port, server.virtualHosts.map(compileVirtualHost));
    }
  }

  /** The mesh-bound routes of a ServiceEntry host and port, if a VirtualService gives it any. */
  routedExternal(host: string, port: number): BalancedPort | undefined {
    return this.routedExternals.size === 0 ? undefined : this.routedExternals.get(`${host}:${port}`);
  }

  /** Resolve an authority's host part (lower case, no port) to a service. */
  service(host: string): CompiledService | undefined {
    return this.byAlias.get(host) ?? this.byHost.get(host);
  }

  /** The cluster of a destination; undefined for an unknown service, port or subset (Envoy's 503 `NR`). */
  cluster(host: string, port: number, subset: string | undefined): ClusterBinding | undefined {
    return this.byHost.get(host)?.ports.get(port)?.clusters.get(subset ?? '');
  }

  /** Every cluster with its endpoint addresses, for the EndpointRegistry. */
  clusterEndpoints(): ClusterEndpoints[] {
    const out: ClusterEndpoints[] = [];
    for (const svc of this.byHost.values()) {
      for (const p of svc.ports.values()) {
        for (const c of p.clusters.values()) {
          const placement = placeEndpoints(c.config.policy, this.raw.proxy.labels, c.endpoints);
          out.push({ config: c.config, addresses: [...c.endpoints.keys()], ...(placement !== undefined && { placement }) });
        }
      }
    }
    return out;
  }

  /** The mesh service whose virtual address a captured connection dialled. */
  serviceAt(address: string): CompiledService | undefined {
    return this.byAddress.get(address);
  }

  /**
   * The virtual host of a gateway port for a host, in Envoy's domain search order: an exact name, then the longest
   * matching `*.suffix`, then `*`; a tie goes to the earlier virtual host.
   */
  virtualHost(port: number, host: string): CompiledVirtualHost | undefined {
    const hosts = this.gatewayServers.get(port);
    return hosts === undefined ? undefined : pickVirtualHost(hosts, host);
  }
}

/** Envoy's domain search: an exact name, then the longest matching `*.suffix`, then `*`; a tie goes to the earlier. */
export function pickVirtualHost(hosts: readonly CompiledVirtualHost[], host: string): CompiledVirtualHost | undefined {
  let wildcard: CompiledVirtualHost | undefined;
  let wildcardLength = -1;
  for (const vh of hosts) {
    for (const d of vh.domains) {
      if (d === host) return vh;
      const length = d === '*' ? 0 : d.length;
      if (length > wildcardLength && hostMatches(d, host)) {
        wildcard = vh;
        wildcardLength = length;
      }
    }
  }
  return wildcard;
}

function compileInbound(inbound: NonNullable<ProxyConfig['inbound']>): CompiledInbound {
  const modes = new Map<number, PeerAuthnMode>();
  const protocols = new Map<number, PortProtocol>();
  for (const p of inbound.ports) {
    modes.set(p.port, p.mode);
    protocols.set(p.port, p.protocol);
  }
  const targetPorts = new Map<string, number>();
  const byPort = new Map<number, Set<number>>();
  const servicesByAppPort = new Map<number, string[]>();
  for (const sp of inbound.servicePorts) {
    targetPorts.set(`${sp.host}:${sp.port}`, sp.targetPort);
    const services = servicesByAppPort.get(sp.targetPort) ?? [];
    if (!services.includes(sp.host)) services.push(sp.host);
    servicesByAppPort.set(sp.targetPort, services);
    const set = byPort.get(sp.port) ?? new Set<number>();
    set.add(sp.targetPort);
    byPort.set(sp.port, set);
  }
  const targetByServicePort = new Map<number, number>();
  for (const [port, targets] of byPort) if (targets.size === 1) targetByServicePort.set(port, [...targets][0]!);
  const allModes = [...modes.values(), inbound.defaultMode];
  return {
    defaultMode: inbound.defaultMode,
    modes,
    protocols,
    targetPorts,
    targetByServicePort,
    servicesByAppPort,
    appPorts: inbound.ports.map((p) => p.port),
    strictEverywhere: allModes.every((m) => m === 'STRICT'),
    rateLimits: compileRateLimits(inbound.rateLimits),
  };
}

export function compileVirtualHost(vh: VirtualHost): CompiledVirtualHost {
  return { gateway: vh.gateway, domains: vh.domains, routes: compileRoutes(vh.routes), httpsRedirect: vh.httpsRedirect === true };
}

/** Check and compile a config received from the control plane; any failure becomes the NACK's reason. */
export function acceptProxyConfig(input: unknown): CompiledProxyConfig {
  const parsed = ProxyConfigSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? first.path.join('.') : '';
    throw new WeftError('PROXY_CONFIG_REJECTED', `invalid config at ${where || '(root)'}: ${first?.message ?? 'unknown'}`);
  }
  try {
    return new CompiledProxyConfig(parsed.data);
  } catch (err) {
    throw new WeftError('PROXY_CONFIG_REJECTED', `cannot compile config: ${(err as Error).message}`, { cause: err });
  }
}
