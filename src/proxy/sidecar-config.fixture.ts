/**
 * Test fixture: the ProxyConfig of a sidecar in example.org's `default` namespace that calls out (no inbound side,
 * no gateway, no policies), built from what a test varies: its version, its workload, the traffic policy, the mesh
 * services and the external entries it may reach. One place to change when ProxyConfig grows, instead of a
 * hand-written literal per test file.
 */
import { PROXY_CONFIG_SCHEMA } from '../proxyconfig/types.js';
import type { ExternalPort, ExternalService, OutboundService, OutboundTrafficPolicyMode, ProxyConfig } from '../proxyconfig/types.js';

export interface SidecarConfigOptions {
  version: string;
  /** The workload, and its service account, in `default`; `sleep` unless given. */
  workload?: string;
  /** REGISTRY_ONLY unless given. */
  trafficPolicy?: OutboundTrafficPolicyMode;
  services?: OutboundService[];
  externals?: ExternalService[];
  egressGatewayHosts?: string[];
}

export function sidecarConfig(o: SidecarConfigOptions): ProxyConfig {
  const workload = o.workload ?? 'sleep';
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: o.version,
    proxy: { role: 'sidecar', namespace: 'default', name: workload, spiffeId: `spiffe://example.org/ns/default/sa/${workload}`, labels: {} },
    trustDomain: 'example.org',
    inbound: null,
    outbound: {
      services: o.services ?? [],
      externals: o.externals ?? [],
      trafficPolicy: o.trafficPolicy ?? 'REGISTRY_ONLY',
      ...(o.egressGatewayHosts && { egressGatewayHosts: o.egressGatewayHosts }),
    },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

/**
 * A MESH_EXTERNAL ServiceEntry as a sidecar gets it, from `source` (`namespace/name`): no addresses, DNS answers
 * or endpoints, resolution NONE, unless `over` gives them.
 */
export function externalService(source: string, hosts: string[], ports: ExternalPort[], over: Partial<ExternalService> = {}): ExternalService {
  const namespace = source.slice(0, source.indexOf('/'));
  return { source, namespace, hosts, addresses: [], dns: [], ports, location: 'MESH_EXTERNAL', resolution: 'NONE', endpoints: [], ...over };
}
