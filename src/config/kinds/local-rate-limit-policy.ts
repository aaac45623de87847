/**
 * weft.dev/v1alpha1 LocalRateLimitPolicy: requests per second a workload's own sidecar lets through to its app, in
 * total and per caller identity, with overrides for named callers. Modelled on Linkerd's HTTPLocalRateLimitPolicy
 * (`total`, `identity`, `overrides[].clientRefs`); the target is chosen the way Istio's kinds choose one, by a
 * workload selector in the policy's namespace and optionally one app port, instead of Linkerd's Server reference.
 */
import { z } from 'zod';
import { parseSpiffeId } from '../../identity/spiffe-id.js';
import { MatchLabelsSelectorSchema, PortNumberSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

/** Linkerd's limits are uint32 requests per second; 0 would mean "no limit" there, so weft asks to leave it out. */
const RequestsPerSecondSchema = z
  .int('requestsPerSecond must be a whole number')
  .min(1, 'requestsPerSecond must be at least 1 (leave the limit out for none)')
  .max(4_294_967_295, 'requestsPerSecond must be at most 4294967295');

const LimitSchema = z.strictObject({ requestsPerSecond: RequestsPerSecondSchema });

/** Linkerd's clientRefs form: a ServiceAccount, its namespace defaulting to the policy's. */
const ServiceAccountRefSchema = z.strictObject({
  group: z.literal('').optional(),
  kind: z.literal('ServiceAccount', { error: 'only kind ServiceAccount is supported' }),
  namespace: z.string().optional(),
  name: z.string().min(1, 'name must not be empty'),
});

/** A caller: `namespace/serviceAccount`, a SPIFFE ID (`spiffe://...`), or Linkerd's ServiceAccount reference. */
export const ClientRefSchema = z.union([z.string(), ServiceAccountRefSchema]);

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

// Kubernetes' name rules: a namespace is a DNS-1123 label, a ServiceAccount name a DNS-1123 subdomain.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a clientRef cannot name a caller, or undefined when it can. */
function clientRefProblem(ref: ClientRef): string | undefined {
  if (typeof ref !== 'string') {
    if (ref.namespace !== undefined && ref.namespace !== '' && !DNS1123_LABEL.test(ref.namespace)) return `namespace "${ref.namespace}" is not a valid namespace name`;
    return DNS1123_SUBDOMAIN.test(ref.name) ? undefined : `"${ref.name}" is not a valid ServiceAccount name`;
  }
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
  if (!DNS1123_LABEL.test(namespace)) return `"${ref}": "${namespace}" is not a valid namespace name`;
  if (!DNS1123_SUBDOMAIN.test(name)) return `"${ref}": "${name}" is not a valid ServiceAccount name`;
  return undefined;
}

/** One spelling per caller, so a client named twice is found whichever form each mention used. */
export function clientRefKey(ref: ClientRef, policyNamespace: string): string {
  if (typeof ref === 'string') return ref;
  return `${ref.namespace === undefined || ref.namespace === '' ? policyNamespace : ref.namespace}/${ref.name}`;
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
  // The namespace does not matter here: a ref without one is compared only with refs that also leave it out.
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
      const key = clientRefKey(ref, '');
      const first = seen.get(key);
      if (first !== undefined) issues.push({ path: ['overrides', i, 'clientRefs', j], message: `client "${key}" is already named by ${first}` });
      else seen.set(key, `overrides[${i}].clientRefs[${j}]`);
    });
  });
  return issues;
}
