/** The workloads an AuthorizationPolicy binds, by the authz engine's own reach rule. */
import type { AuthorizationPolicySpec } from '../config/kinds/authorization-policy.js';
import { policyReach } from '../authz/policy-scope.js';
import type { RegistryWorkload } from '../control/registry/index.js';
import type { AnalysisContext, Item } from './context.js';

export function policyWorkloads(ctx: AnalysisContext, ap: Item<AuthorizationPolicySpec>): RegistryWorkload[] {
  return ctx.snapshot.registry.workloads.filter((w) =>
    policyReach({ namespace: ap.namespace, spec: ap.spec }, { rootNamespace: ctx.rootNamespace, workloadNamespace: w.namespace, workloadLabels: w.labels }) !== null);
}
