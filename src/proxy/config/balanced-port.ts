/**
 * A service port as the proxy routes to it: its compiled routes and its clusters (the whole service and each
 * subset) with their endpoints. Made from one outbound service port alone, so a config can keep it across a push
 * that leaves its service as it was.
 */
import type { ClusterConfig, Endpoint, OutboundPort, PortProtocol } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { compileRoutes } from '../../route/http-route-match.js';
import type { CompiledRoute } from '../../route/http-route-match.js';
import { compileL4Routes } from '../../route/l4-route-match.js';
import type { CompiledL4Route } from '../../route/l4-route-match.js';
import { httpPoolSettings } from '../upstream/pool-settings.js';
import type { HttpPoolSettings } from '../upstream/pool-settings.js';

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
