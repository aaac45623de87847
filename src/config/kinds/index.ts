/**
 * The kind registry: every resource kind weft accepts, its API group/version, its CLI names, its spec schema and
 * its semantic check. Istio's older apiVersions are accepted as aliases and normalised to v1.
 */
import type { z } from 'zod';
import { AuthorizationPolicySpecSchema, checkAuthorizationPolicy } from './authorization-policy.js';
import { DestinationRuleSpecSchema, checkDestinationRule } from './destination-rule.js';
import { GatewaySpecSchema, checkGateway } from './gateway.js';
import { HostClaimSpecSchema, checkHostClaim } from './host-claim.js';
import { LocalRateLimitPolicySpecSchema, checkLocalRateLimitPolicy } from './local-rate-limit-policy.js';
import { MeshConfigSpecSchema, checkMeshConfig } from './mesh-config.js';
import { PeerAuthenticationSpecSchema, checkPeerAuthentication } from './peer-authentication.js';
import { RequestAuthenticationSpecSchema, checkRequestAuthentication } from './request-authentication.js';
import { ServiceEntrySpecSchema, checkServiceEntry } from './service-entry.js';
import { ServiceSpecSchema, checkService } from './service.js';
import { SidecarSpecSchema, checkSidecar } from './sidecar.js';
import { SECRET_TOP_LEVEL_FIELDS, SecretSpecSchema, checkSecret } from './secret.js';
import type { SpecIssue } from './spec-issue.js';
import { VirtualServiceSpecSchema } from './virtual-service.js';
import { checkVirtualService } from './virtual-service-checks.js';
import { WorkloadSpecSchema, checkWorkload } from './workload.js';
import { TelemetrySpecSchema, checkTelemetry } from './telemetry.js';
import { GATEWAY_API_KINDS } from './gateway-api/kinds.js';

export type { SpecIssue } from './spec-issue.js';

/** Which Kubernetes name rule metadata.name follows for this kind. */
export type NameRule = 'dns1123-subdomain' | 'dns1035-label';

export interface KindInfo {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  /** CLI names: singular, plural, short names; all lowercase. */
  names: string[];
  nameRule: NameRule;
  /**
   * The kind as documents write it, when the store knows it by another name: the Gateway API's Gateway is stored
   * as KubernetesGateway (Istio's own name for it) so it never collides with networking.istio.io's Gateway.
   */
  documentKind?: string;
  specSchema: z.ZodType;
  /** Semantic checks on the parsed spec; paths are relative to `spec`. */
  validate?: (spec: never) => SpecIssue[];
  /** Kinds written without `spec` (Kubernetes' Secret): the top-level fields that make up the spec. */
  topLevelSpec?: readonly string[];
}

function kind<S extends z.ZodType>(info: {
  apiVersion: string;
  kind: string;
  documentKind?: string;
  namespaced?: boolean;
  names: string[];
  nameRule?: NameRule;
  specSchema: S;
  validate?: (spec: z.output<S>) => SpecIssue[];
  topLevelSpec?: readonly string[];
}): KindInfo {
  return { namespaced: true, nameRule: 'dns1123-subdomain', ...info } as KindInfo;
}

const NETWORKING = 'networking.istio.io/v1';
const SECURITY = 'security.istio.io/v1';
const WEFT = 'weft.dev/v1alpha1';
const TELEMETRY = 'telemetry.istio.io/v1';

export const KINDS: readonly KindInfo[] = [
  kind({ apiVersion: 'v1', kind: 'Service', names: ['service', 'services', 'svc'], nameRule: 'dns1035-label', specSchema: ServiceSpecSchema, validate: checkService }),
  kind({ apiVersion: 'v1', kind: 'Secret', names: ['secret', 'secrets'], specSchema: SecretSpecSchema, validate: checkSecret, topLevelSpec: SECRET_TOP_LEVEL_FIELDS }),
  kind({ apiVersion: WEFT, kind: 'Workload', names: ['workload', 'workloads', 'wl'], specSchema: WorkloadSpecSchema, validate: checkWorkload }),
  kind({
    apiVersion: WEFT,
    kind: 'LocalRateLimitPolicy',
    names: ['localratelimitpolicy', 'localratelimitpolicies', 'lrlp'],
    specSchema: LocalRateLimitPolicySpecSchema,
    validate: checkLocalRateLimitPolicy,
  }),
  kind({ apiVersion: WEFT, kind: 'HostClaim', names: ['hostclaim', 'hostclaims', 'hc'], specSchema: HostClaimSpecSchema, validate: checkHostClaim }),
  kind({ apiVersion: WEFT, kind: 'MeshConfig', names: ['meshconfig', 'meshconfigs', 'mc'], specSchema: MeshConfigSpecSchema, validate: checkMeshConfig }),
  kind({ apiVersion: NETWORKING, kind: 'Gateway', names: ['gateway', 'gateways', 'gw'], specSchema: GatewaySpecSchema, validate: checkGateway }),
  kind({ apiVersion: NETWORKING, kind: 'VirtualService', names: ['virtualservice', 'virtualservices', 'vs'], specSchema: VirtualServiceSpecSchema, validate: checkVirtualService }),
  kind({ apiVersion: NETWORKING, kind: 'DestinationRule', names: ['destinationrule', 'destinationrules', 'dr'], specSchema: DestinationRuleSpecSchema, validate: checkDestinationRule }),
  kind({ apiVersion: NETWORKING, kind: 'ServiceEntry', names: ['serviceentry', 'serviceentries', 'se'], specSchema: ServiceEntrySpecSchema, validate: checkServiceEntry }),
  kind({ apiVersion: NETWORKING, kind: 'Sidecar', names: ['sidecar', 'sidecars'], specSchema: SidecarSpecSchema, validate: checkSidecar }),
  kind({ apiVersion: SECURITY, kind: 'PeerAuthentication', names: ['peerauthentication', 'peerauthentications', 'pa'], specSchema: PeerAuthenticationSpecSchema, validate: checkPeerAuthentication }),
  kind({ apiVersion: SECURITY, kind: 'AuthorizationPolicy', names: ['authorizationpolicy', 'authorizationpolicies', 'ap'], specSchema: AuthorizationPolicySpecSchema, validate: checkAuthorizationPolicy }),
  kind({ apiVersion: SECURITY, kind: 'RequestAuthentication', names: ['requestauthentication', 'requestauthentications', 'ra'], specSchema: RequestAuthenticationSpecSchema, validate: checkRequestAuthentication }),
  kind({ apiVersion: TELEMETRY, kind: 'Telemetry', names: ['telemetry', 'telemetries'], specSchema: TelemetrySpecSchema, validate: checkTelemetry }),
  ...GATEWAY_API_KINDS,
];

/** Istio's earlier versions of the same APIs: the schemas are the same, so they load as v1. */
const API_VERSION_ALIASES: Readonly<Record<string, string>> = {
  'networking.istio.io/v1alpha3': NETWORKING,
  'networking.istio.io/v1beta1': NETWORKING,
  'security.istio.io/v1beta1': SECURITY,
  'telemetry.istio.io/v1alpha1': TELEMETRY,
};

export function normalizeApiVersion(apiVersion: string): string {
  return API_VERSION_ALIASES[apiVersion] ?? apiVersion;
}

export function findKind(apiVersion: string, kindName: string): KindInfo | undefined {
  const v = normalizeApiVersion(apiVersion);
  // The stored name is accepted too: the CLI sends resources as loaded, and the API validates them again.
  return KINDS.find((k) => k.apiVersion === v && ((k.documentKind ?? k.kind) === kindName || k.kind === kindName));
}

const BY_NAME = new Map<string, KindInfo>(KINDS.flatMap((k) => k.names.map((n) => [n, k] as const)));

/** Resolves a CLI kind name: Kind, plural or short name, any case. */
export function kindByName(cliName: string): KindInfo | undefined {
  return BY_NAME.get(cliName.toLowerCase());
}

/** "apiVersion Kind" for every known kind, for error messages. */
export function knownKindsList(): string {
  return KINDS.map((k) => `${k.apiVersion} ${k.documentKind ?? k.kind}`).join(', ');
}
