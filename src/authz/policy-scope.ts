/**
 * Which AuthorizationPolicies bind a workload, and in what order Istio evaluates them.
 */
import type { AuthorizationPolicySpec, AuthzAction } from '../config/kinds/authorization-policy.js';

export interface AuthzPolicyInput {
  namespace: string;
  name: string;
  spec: AuthorizationPolicySpec;
  annotations?: Record<string, string>;
}

export interface WorkloadScope {
  rootNamespace: string;
  workloadNamespace: string;
  workloadLabels: Record<string, string>;
  /** The mesh's trust domain: principals naming it, `cluster.local` or an alias match all of them. Unset: as written. */
  trustDomain?: string;
  /** MeshConfig `trustDomainAliases`. */
  trustDomainAliases?: readonly string[];
}

export type PolicyReach = 'mesh' | 'namespace' | 'workload';

export interface ApplicablePolicy {
  policy: string;
  action: AuthzAction;
  dryRun: boolean;
  reach: PolicyReach;
  rules: number;
  provider?: string;
}

export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

/** Istio parses the annotation with Go's strconv.ParseBool. */
export function isDryRun(annotations: Record<string, string> | undefined): boolean {
  const v = annotations?.[DRY_RUN_ANNOTATION];
  return v !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

/**
 * Reach of the policy over this workload, or null when it does not apply. A policy with targetRef(s)
 * binds a gateway or service rather than a sidecar workload, so it never applies here.
 */
export function policyReach(
  p: { namespace: string; spec: Pick<AuthorizationPolicySpec, 'selector' | 'targetRef' | 'targetRefs'> },
  scope: WorkloadScope,
): PolicyReach | null {
  if (p.spec.targetRef !== undefined || (p.spec.targetRefs?.length ?? 0) > 0) return null;
  const inRoot = p.namespace === scope.rootNamespace;
  if (!inRoot && p.namespace !== scope.workloadNamespace) return null;
  const selector = p.spec.selector;
  if (selector === undefined) return inRoot ? 'mesh' : 'namespace';
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (scope.workloadLabels[k] !== v) return null;
  }
  return 'workload';
}

const ACTION_ORDER: Record<AuthzAction, number> = { CUSTOM: 0, DENY: 1, ALLOW: 2, AUDIT: 3 };

/**
 * Evaluation order: CUSTOM, then DENY (root-namespace DENY first, as Istio emits it as its own filter),
 * then ALLOW, then AUDIT; inside a group, the order of Envoy's sorted policy map, `ns[..]-policy[..]`.
 */
export function comparePolicies(a: AuthzPolicyInput, b: AuthzPolicyInput, rootNamespace: string): number {
  const aa = a.spec.action ?? 'ALLOW';
  const ba = b.spec.action ?? 'ALLOW';
  if (aa !== ba) return ACTION_ORDER[aa] - ACTION_ORDER[ba];
  if (aa === 'DENY') {
    const ar = a.namespace === rootNamespace ? 0 : 1;
    const br = b.namespace === rootNamespace ? 0 : 1;
    if (ar !== br) return ar - br;
  }
  const ak = `ns[${a.namespace}]-policy[${a.name}]`;
  const bk = `ns[${b.namespace}]-policy[${b.name}]`;
  return ak < bk ? -1 : ak > bk ? 1 : 0;
}

export function listApplicablePolicies(policies: readonly AuthzPolicyInput[], scope: WorkloadScope): ApplicablePolicy[] {
  return policies
    .map((p) => ({ p, reach: policyReach(p, scope) }))
    .filter((x): x is { p: AuthzPolicyInput; reach: PolicyReach } => x.reach !== null)
    .sort((x, y) => comparePolicies(x.p, y.p, scope.rootNamespace))
    .map(({ p, reach }) => ({
      policy: `${p.namespace}/${p.name}`,
      action: p.spec.action ?? 'ALLOW',
      dryRun: isDryRun(p.annotations),
      reach,
      rules: p.spec.rules?.length ?? 0,
      ...(p.spec.provider ? { provider: p.spec.provider.name } : {}),
    }));
}
