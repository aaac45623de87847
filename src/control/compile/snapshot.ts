/**
 * Everything compile needs, derived once per store revision and shared by every proxy's compile: the registry,
 * the mesh settings and the policy lists by kind.
 */
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import type { MeshConfigSpec, MeshSettings } from '../../config/kinds/mesh-config.js';
import type { PeerAuthenticationSpec } from '../../config/kinds/peer-authentication.js';
import type { GatewaySpec } from '../../config/kinds/gateway.js';
import type { VirtualServiceSpec } from '../../config/kinds/virtual-service.js';
import type { AuthorizationPolicySpec } from '../../config/kinds/authorization-policy.js';
import type { RequestAuthenticationSpec } from '../../config/kinds/request-authentication.js';
import type { SidecarSpec } from '../../config/kinds/sidecar.js';
import type { DestinationRuleSpec } from '../../config/kinds/destination-rule.js';
import type { LocalRateLimitPolicySpec } from '../../config/kinds/local-rate-limit-policy.js';
import type { SecretSpec } from '../../config/kinds/secret.js';
import type { TelemetrySpec } from '../../config/kinds/telemetry.js';
import { buildRegistry } from '../registry/index.js';
import type { Registry } from '../registry/index.js';
import type { PeerAuthnPolicy } from './peer-authentication.js';
import { translateGatewayApi } from '../gateway-api/translate.js';
import { policyEpoch } from './policy-epoch.js';
import { setEpoch } from './snapshot-memo.js';

export interface Named<Spec> {
  namespace: string;
  name: string;
  creationTimestamp: string;
  annotations: Record<string, string>;
  spec: Spec;
}

export interface MeshSnapshot {
  revision: number;
  mesh: MeshSettings;
  registry: Registry;
  peerAuthentications: PeerAuthnPolicy[];
  gateways: Named<GatewaySpec>[];
  virtualServices: Named<VirtualServiceSpec>[];
  authorizationPolicies: Named<AuthorizationPolicySpec>[];
  requestAuthentications: Named<RequestAuthenticationSpec>[];
  sidecars: Named<SidecarSpec>[];
  destinationRules: Named<DestinationRuleSpec>[];
  localRateLimitPolicies: Named<LocalRateLimitPolicySpec>[];
  telemetries: Named<TelemetrySpec>[];
  /** Secrets as applied (unsealed before the snapshot is built); only gateway compile reads them. */
  secrets: Named<SecretSpec>[];
  /** The range service VIPs come from (e.g. 198.19.200.0/24); undefined when pods have none (loopback pods). */
  serviceCidr: string | undefined;
  /** JWKS documents fetched for jwksUri, by URI. */
  jwks: ReadonlyMap<string, string>;
}

function named<Spec>(resources: readonly Resource[], kind: string): Named<Spec>[] {
  return resources
    .filter((r) => r.kind === kind)
    .map((r) => ({
      namespace: r.metadata.namespace,
      name: r.metadata.name,
      creationTimestamp: (r.metadata as { creationTimestamp?: string }).creationTimestamp ?? '',
      annotations: r.metadata.annotations,
      spec: r.spec as Spec,
    }));
}

/**
 * MeshConfig is one object: the oldest wins if several exist, the way Istio resolves conflicting singletons.
 * The bootstrap settings (trust domain, root namespace) are fixed at start; a MeshConfig that disagrees with them
 * takes effect on the next start.
 */
export interface SnapshotNetwork {
  /** Checked before it gets here (parseServiceCidr). */
  serviceCidr?: string | undefined;
}

export function buildSnapshot(
  resources: readonly Resource[],
  revision: number,
  bootstrap: MeshSettings,
  jwks: ReadonlyMap<string, string> = new Map(),
  network: SnapshotNetwork = {},
): MeshSnapshot {
  const meshConfigs = named<MeshConfigSpec>(resources, 'MeshConfig').sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp));
  const mesh = meshConfigs[0]
    ? { ...meshConfigWithDefaults(meshConfigs[0].spec), trustDomain: bootstrap.trustDomain, rootNamespace: bootstrap.rootNamespace }
    : bootstrap;
  // The Gateway API compiles as the Istio Gateways and VirtualServices Istio translates it into.
  const gatewayApi = translateGatewayApi(resources);
  const snap: MeshSnapshot = {
    revision,
    mesh,
    registry: buildRegistry(resources),
    peerAuthentications: named<PeerAuthenticationSpec>(resources, 'PeerAuthentication'),
    gateways: [...named<GatewaySpec>(resources, 'Gateway'), ...gatewayApi.gateways],
    virtualServices: [...named<VirtualServiceSpec>(resources, 'VirtualService'), ...gatewayApi.virtualServices],
    authorizationPolicies: named<AuthorizationPolicySpec>(resources, 'AuthorizationPolicy'),
    requestAuthentications: named<RequestAuthenticationSpec>(resources, 'RequestAuthentication'),
    sidecars: named<SidecarSpec>(resources, 'Sidecar'),
    destinationRules: named<DestinationRuleSpec>(resources, 'DestinationRule'),
    localRateLimitPolicies: named<LocalRateLimitPolicySpec>(resources, 'LocalRateLimitPolicy'),
    telemetries: named<TelemetrySpec>(resources, 'Telemetry'),
    // A Secret still sealed (no key to open it) has no data and serves nothing.
    secrets: named<SecretSpec>(resources, 'Secret').filter((s) => typeof s.spec.data === 'object' && s.spec.data !== null),
    serviceCidr: network.serviceCidr,
    jwks,
  };
  setEpoch(snap, policyEpoch(resources, jwks, JSON.stringify([bootstrap, network.serviceCidr ?? null])));
  return snap;
}
