/**
 * The security section of one proxy's config: the AuthorizationPolicies and RequestAuthentications whose scope
 * reaches it (selector in its namespace, its namespace, or the root namespace: Istio's rule for both kinds), the
 * JWKS documents the control plane fetched for them, and the extension providers CUSTOM policies name.
 */
import type { SecurityConfig } from '../../proxyconfig/types.js';
import { policyReach } from '../../authz/policy-scope.js';
import type { MeshSnapshot } from './snapshot.js';
import { resolveHost } from './gateway.js';
import { labelSetKey, perEpoch, sharedSection } from './snapshot-memo.js';
import type { SharedSection } from './snapshot-memo.js';

/** Istio's ext-authz default when a provider sets no timeout. */
const DEFAULT_EXT_AUTHZ_TIMEOUT_MS = 600_000;

export function compileSecurity(snap: MeshSnapshot, workload: { namespace: string; labels: Record<string, string> }): SecurityConfig {
  const scope = { rootNamespace: snap.mesh.rootNamespace, workloadNamespace: workload.namespace, workloadLabels: workload.labels };
  const byName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
    a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
  const authorizationPolicies = snap.authorizationPolicies
    .filter((p) => policyReach(p, scope) !== null)
    .sort(byName)
    .map((p) => ({ namespace: p.namespace, name: p.name, annotations: p.annotations, spec: p.spec }));
  const jwtRules = snap.requestAuthentications
    .filter((p) => policyReach(p, scope) !== null)
    .sort(byName)
    .flatMap((p) => p.spec.jwtRules ?? [])
    .map((rule) => {
      const fetched = rule.jwks === undefined && rule.jwksUri !== undefined ? snap.jwks.get(rule.jwksUri) : undefined;
      return fetched === undefined ? rule : { ...rule, jwks: fetched };
    });
  const extensionProviders = snap.mesh.extensionProviders.map(({ name, envoyExtAuthzHttp: h }) => ({
    name,
    service: resolveHost(h.service, snap.mesh.rootNamespace),
    port: h.port,
    pathPrefix: h.pathPrefix,
    timeoutMs: h.timeoutMs ?? DEFAULT_EXT_AUTHZ_TIMEOUT_MS,
    failOpen: h.failOpen,
    statusOnError: h.statusOnError,
    includeRequestHeadersInCheck: h.includeRequestHeadersInCheck.map((x) => x.toLowerCase()),
    includeAdditionalHeadersInCheck: h.includeAdditionalHeadersInCheck,
    headersToUpstreamOnAllow: h.headersToUpstreamOnAllow.map((x) => x.toLowerCase()),
    headersToDownstreamOnDeny: h.headersToDownstreamOnDeny.map((x) => x.toLowerCase()),
    headersToDownstreamOnAllow: h.headersToDownstreamOnAllow.map((x) => x.toLowerCase()),
  }));
  return {
    rootNamespace: snap.mesh.rootNamespace,
    pathNormalization: snap.mesh.pathNormalization.normalization,
    authorizationPolicies,
    jwtRules,
    extensionProviders,
    // Absent when there are none, so a mesh without aliases compiles to the same bytes as before they existed.
    ...(snap.mesh.trustDomainAliases.length > 0 ? { trustDomainAliases: snap.mesh.trustDomainAliases } : {}),
    // Absent unless set, likewise.
    ...(snap.mesh.grpcMaxMessageBytes !== undefined && { grpcMaxMessageBytes: snap.mesh.grpcMaxMessageBytes }),
  };
}

/**
 * The security section depends only on a proxy's namespace and labels and on policy: one per distinct pair per
 * policy epoch, so a change to Services or Workloads compiles none of them again.
 */
export function securitySection(snap: MeshSnapshot, workload: { namespace: string; labels: Record<string, string> }): SharedSection<SecurityConfig> {
  return perEpoch(snap, `security:${JSON.stringify(workload.namespace)}:${labelSetKey(workload.labels)}`, () => sharedSection(compileSecurity(snap, workload)));
}

/** Every jwksUri some RequestAuthentication names, for the control plane's JWKS cache to keep fresh. */
export function jwksUris(snap: Pick<MeshSnapshot, 'requestAuthentications'>): Set<string> {
  const uris = new Set<string>();
  for (const p of snap.requestAuthentications) for (const r of p.spec.jwtRules ?? []) if (r.jwks === undefined && r.jwksUri) uris.add(r.jwksUri);
  return uris;
}
