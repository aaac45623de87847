/**
 * weft.dev/v1alpha1 LocalRateLimitPolicy: requests per second a workload's own sidecar lets through to its app, in
 * total and per caller identity, with overrides for named callers. Modelled on Linkerd's HTTPLocalRateLimitPolicy
 * (`total`, `identity`, `overrides[].clientRefs`); the target is chosen the way Istio's kinds choose one, by a
 * workload selector in the policy's namespace and optionally one app port, instead of Linkerd's Server reference.
 */
import { z } from 'zod';
import { parseSpiffeId } from '../../identity/spiffe-id.js';
import { dns1123LabelProblem, dns1123SubdomainProblem } from '../metadata.js';
import { MatchLabelsSelectorSchema, PortNumberSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

/** Linkerd's limits are uint32 requests per second; 0 would mean "no limit" there, so weft asks to leave it out. */
const RequestsPerSecondSchema = z
  // A missing value keeps the shared "required field is missing".
  .int({ error: (issue) => (issue.input === undefined ? undefined : 'requestsPerSecond must be a whole number') })
  .min(1, 'requestsPerSecond must be at least 1 (leave the limit out for none)')
  .max(4_294_967_295, 'requestsPerSecond must be at most 4294967295');

const LimitSchema = z.strictObject({ requestsPerSecond: RequestsPerSecondSchema });

/**
 * A caller: `namespace/serviceAccount` (a workload of this mesh) or a SPIFFE ID (`spiffe://...`). Linkerd writes
 * `{kind: ServiceAccount, namespace, name}`; weft's callers are identities, so a string names them in both forms.
 */
export const ClientRefSchema = z.string();

export const LocalRateLimitPolicySpecSchema = z.strictObject({
  /** Workloads in the policy's namespace with these labels; absent, every workload of the namespace. */
  selector: MatchLabelsSelectorSchema.optional(),
  /** The app (container) port the policy governs; absent, every HTTP port of the selected workloads. */
  port: PortNumberSchema.optional(),
  /** Every request to the target together, whoever sends it. */
  total: LimitSchema.optional(),
  /** Each caller identity on its own; callers without one (plaintext) share a single budget. */
  identity: LimitSchema.optional(),
  /** Callers named here share the override's budget instead of the per-identity one. */
  overrides: z
    .array(z.strictObject({ requestsPerSecond: RequestsPerSecondSchema, clientRefs: z.array(ClientRefSchema).min(1, 'clientRefs must name at least one client') }))
    .optional(),
});

export type LocalRateLimitPolicySpec = z.infer<typeof LocalRateLimitPolicySpecSchema>;
export type ClientRef = z.infer<typeof ClientRefSchema>;

/** Why a clientRef cannot name a caller, or undefined when it can. */
function clientRefProblem(ref: ClientRef): string | undefined {
  if (ref.startsWith('spiffe:') || ref.includes('://')) {
    try {
      parseSpiffeId(ref);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
  const parts = ref.split('/');
  if (parts.length !== 2) return `"${ref}" is neither namespace/serviceAccount nor a SPIFFE ID`;
  const [namespace, name] = parts as [string, string];
  // Kubernetes' name rules: a namespace is a DNS-1123 label, a ServiceAccount name a DNS-1123 subdomain.
  const nsProblem = dns1123LabelProblem(namespace);
  if (nsProblem !== undefined) return `"${ref}": namespace "${namespace}" ${nsProblem}`;
  const saProblem = dns1123SubdomainProblem(name);
  return saProblem === undefined ? undefined : `"${ref}": ServiceAccount "${name}" ${saProblem}`;
}

/**
 * Linkerd's rules (identity and override limits no greater than the total), and what makes a policy mean one thing:
 * it limits something, each clientRef names a caller, and no caller is named by two overrides.
 */
export function checkLocalRateLimitPolicy(spec: LocalRateLimitPolicySpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  if (spec.total === undefined && spec.identity === undefined && (spec.overrides ?? []).length === 0) {
    issues.push({ path: [], message: 'a LocalRateLimitPolicy must set total, identity or overrides' });
  }
  const total = spec.total?.requestsPerSecond;
  if (total !== undefined && spec.identity !== undefined && spec.identity.requestsPerSecond > total) {
    issues.push({ path: ['identity', 'requestsPerSecond'], message: `identity.requestsPerSecond (${spec.identity.requestsPerSecond}) cannot be greater than total.requestsPerSecond (${total})` });
  }
  const seen = new Map<string, string>();
  (spec.overrides ?? []).forEach((o, i) => {
    if (total !== undefined && o.requestsPerSecond > total) {
      issues.push({ path: ['overrides', i, 'requestsPerSecond'], message: `requestsPerSecond (${o.requestsPerSecond}) cannot be greater than total.requestsPerSecond (${total})` });
    }
    o.clientRefs.forEach((ref, j) => {
      const problem = clientRefProblem(ref);
      if (problem !== undefined) {
        issues.push({ path: ['overrides', i, 'clientRefs', j], message: problem });
        return;
      }
      const first = seen.get(ref);
      if (first !== undefined) issues.push({ path: ['overrides', i, 'clientRefs', j], message: `client "${ref}" is already named by ${first}` });
      else seen.set(ref, `overrides[${i}].clientRefs[${j}]`);
    });
  });
  return issues;
}
