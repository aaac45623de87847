/**
 * A received ProxyConfig turned into lookup structures once, so the per-request path is a few Map lookups.
 * Instances are immutable after construction and swapped in whole: a request sees one config from start to end.
 * A config made from a delta (acceptMergedConfig) keeps the compiled parts of the config it replaces whose inputs
 * it holds unchanged, the very objects: each part below is made from the sections named beside it and nothing else.
 */
import { WeftError } from '../../errors.js';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { OutboundService, OutboundTrafficPolicyMode, ProxyConfig } from '../../proxyconfig/types.js';
import type { ClusterEndpoints } from '../balance/endpoint-registry.js';
import { placeEndpoints } from '../balance/locality-placement.js';
import { compileSecurity } from '../security/compiled-security.js';
import type { CompiledSecurity } from '../security/compiled-security.js';
import { CompiledExternals } from './compiled-externals.js';
import { GRPC_MAX_MESSAGE_BYTES_DEFAULT } from '../http2/grpc-message-limit.js';
import { BalancedPort } from './balanced-port.js';
import type { ClusterBinding } from './balanced-port.js';
import { compileInbound } from './compiled-inbound.js';
import type { CompiledInbound } from './compiled-inbound.js';
import { compileVirtualHost, pickVirtualHost } from './virtual-hosts.js';
import type { CompiledVirtualHost } from './virtual-hosts.js';
import { parseAgainstPrevious } from './section-validation.js';

export { BalancedPort } from './balanced-port.js';
export type { ClusterBinding } from './balanced-port.js';
export type { CompiledInbound } from './compiled-inbound.js';
export { compileVirtualHost, pickVirtualHost } from './virtual-hosts.js';
export type { CompiledVirtualHost } from './virtual-hosts.js';

export interface CompiledService {
  host: string;
  ports: Map<number, BalancedPort>;
  /** Virtual addresses: what a connection to the service by name is taken to have dialled (destinationSubnets). */
  addresses: readonly string[];
}

/** A service's ports compiled: a function of the one outbound service alone. */
interface ServiceParts {
  compiled: CompiledService;
  /** One per entry of the service's `ports`, in order (the map keeps the last of a repeated port). */
  ports: BalancedPort[];
}

function compileService(svc: OutboundService): ServiceParts {
  const ports = svc.ports.map((p) => new BalancedPort(svc.host, p.port, p.endpoints, p.protocol, p));
  return { compiled: { host: svc.host, ports: new Map(ports.map((bp) => [bp.port, bp])), addresses: svc.addresses }, ports };
}

export class CompiledProxyConfig {
  readonly version: string;
  readonly raw: ProxyConfig;
  readonly byAlias = new Map<string, CompiledService>();
  readonly byHost = new Map<string, CompiledService>();
  /** From `inbound`. */
  readonly inbound: CompiledInbound | null;
  /** Gateway listeners: server port → virtual hosts in config order. From `gateway`. */
  readonly gatewayServers: ReadonlyMap<number, CompiledVirtualHost[]>;
  /** From `security`, `proxy` (the workload's namespace and labels) and `trustDomain`. */
  readonly security: CompiledSecurity;
  /** Service virtual address → service: what a captured connection dialled. */
  readonly byAddress = new Map<string, CompiledService>();
  /** From `outbound.externals`. */
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
  /**
   * `host:port` of a ServiceEntry host with mesh-bound routes → those routes, as a port without endpoints of its own.
   * From `outbound.externalRoutes`.
   */
  readonly routedExternals: ReadonlyMap<string, BalancedPort>;
  /** ServiceEntry hosts that leave only through an egress gateway: this sidecar never dials them itself. */
  readonly egressGatewayHosts: ReadonlySet<string>;
  /** Each outbound service (the parsed object) → its compiled ports, for the next config to keep. */
  readonly #services = new Map<OutboundService, ServiceParts>();

  /** `previous`: the config this one replaces, whose parts are kept where their inputs are the same objects. */
  constructor(config: ProxyConfig, previous?: CompiledProxyConfig) {
    this.version = config.version;
    this.raw = config;
    const was = previous?.raw;
    const kept = previous === undefined ? undefined : previous.#services;
    this.grpcMaxMessageBytes = config.security.grpcMaxMessageBytes ?? GRPC_MAX_MESSAGE_BYTES_DEFAULT;
    for (const svc of config.outbound.services) {
      // A kept service keeps its ports' round-robin positions too, as a push of another service should.
      const parts = kept?.get(svc) ?? compileService(svc);
      this.#services.set(svc, parts);
      const { compiled } = parts;
      for (const [i, p] of svc.ports.entries()) {
        const bp = parts.ports[i]!;
        if (bp.clusters.get('')?.config.policy.loadBalancer.policy !== 'PASSTHROUGH') continue;
        for (const ep of p.endpoints) if (!this.byPassthroughEndpoint.has(`${ep.address}:${ep.targetPort}`)) this.byPassthroughEndpoint.set(`${ep.address}:${ep.targetPort}`, bp);
      }
      this.byHost.set(svc.host, compiled);
      for (const alias of svc.aliases) this.byAlias.set(alias, compiled);
      for (const address of svc.addresses) if (!this.byAddress.has(address)) this.byAddress.set(address, compiled);
    }
    // Each part is kept when every section it is made from is the same object as in `previous`.
    const same = (...pick: Array<(c: ProxyConfig) => unknown>): boolean => was !== undefined && pick.every((f) => f(was) === f(config));
    this.externals = same((c) => c.outbound.externals) ? previous!.externals : new CompiledExternals(config.outbound.externals);
    this.trafficPolicy = config.outbound.trafficPolicy;
    this.routedExternals = same((c) => c.outbound.externalRoutes) ? previous!.routedExternals : compileRoutedExternals(config.outbound.externalRoutes);
    this.egressGatewayHosts = same((c) => c.outbound.egressGatewayHosts) ? previous!.egressGatewayHosts : new Set(config.outbound.egressGatewayHosts ?? []);
    this.inbound = same((c) => c.inbound) ? previous!.inbound : config.inbound ? compileInbound(config.inbound) : null;
    this.security = same((c) => c.security, (c) => c.proxy, (c) => c.trustDomain) ? previous!.security : compileSecurity(config);
    this.gatewayServers = same((c) => c.gateway) ? previous!.gatewayServers : compileGatewayServers(config.gateway);
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

  /** Clusters of this config (those a push changed: cluster-changes.ts) with their endpoint addresses, for the EndpointRegistry. */
  clusterEndpoints(clusters: readonly ClusterBinding[]): ClusterEndpoints[] {
    return clusters.map((c) => {
      const placement = placeEndpoints(c.config.policy, this.raw.proxy.labels, c.endpoints);
      return { config: c.config, addresses: [...c.endpoints.keys()], ...(placement !== undefined && { placement }) };
    });
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

/** Check and compile a config received from the control plane; any failure becomes the NACK's reason. */
export function acceptProxyConfig(input: unknown): CompiledProxyConfig {
  // A config the push stream has checked and compiled already (config-receiver.ts) is taken as it is.
  if (input instanceof CompiledProxyConfig) return input;
  const parsed = ProxyConfigSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? first.path.join('.') : '';
    throw new WeftError('PROXY_CONFIG_REJECTED', `invalid config at ${where || '(root)'}: ${first?.message ?? 'unknown'}`);
  }
  return compiled(parsed.data);
}

/**
 * Check and compile a config merged from a delta into `previous`'s config: only what the delta changed is parsed
 * (section-validation.ts) and compiled. Accepts and refuses exactly what acceptProxyConfig does, with its reason.
 */
export function acceptMergedConfig(merged: unknown, previous: CompiledProxyConfig): CompiledProxyConfig {
  const parsed = parseAgainstPrevious(merged, previous.raw);
  // Not valid: the whole parse names the first issue as it would for a whole config.
  if (parsed === undefined) return acceptProxyConfig(merged);
  return compiled(parsed, previous);
}

function compiled(config: ProxyConfig, previous?: CompiledProxyConfig): CompiledProxyConfig {
  try {
    return new CompiledProxyConfig(config, previous);
  } catch (err) {
    throw new WeftError('PROXY_CONFIG_REJECTED', `cannot compile config: ${(err as Error).message}`, { cause: err });
  }
}

function compileRoutedExternals(routes: ProxyConfig['outbound']['externalRoutes']): Map<string, BalancedPort> {
  const out = new Map<string, BalancedPort>();
  for (const r of routes ?? []) out.set(`${r.host}:${r.port}`, new BalancedPort(r.host, r.port, [], r.protocol, r));
  return out;
}

function compileGatewayServers(gateway: ProxyConfig['gateway']): Map<number, CompiledVirtualHost[]> {
  const out = new Map<number, CompiledVirtualHost[]>();
  for (const server of gateway?.servers ?? []) out.set(server.port, server.virtualHosts.map(compileVirtualHost));
  return out;
}
