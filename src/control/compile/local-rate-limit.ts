/**
 * Which LocalRateLimitPolicy governs each app port of a workload, and the policy in the terms a sidecar enforces.
 *
 * A policy reaches the workloads of its own namespace that its selector picks (no selector, or no labels in it: all of
 * them). Linkerd lets one policy target a Server; weft's selector can make several reach one port, so one is chosen,
 * the way Istio resolves competing policies: one naming the port beats one that names none, a selector beats a
 * namespace-wide policy, and then the oldest wins (name breaks a tie). Callers named by `namespace/serviceAccount`
 * become the mesh's SPIFFE IDs here, so the sidecar compares verified peer identities and nothing else.
 */
import type { LocalRateLimitPolicySpec } from '../../config/kinds/local-rate-limit-policy.js';
import { workloadSpiffeId } from '../../identity/spiffe-id.js';
import type { LocalRateLimitConfig } from '../../proxyconfig/types.js';
import { selects } from '../registry/index.js';
import type { Named } from './snapshot.js';

function hasSelector(p: Named<LocalRateLimitPolicySpec>): boolean {
  return Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0;
}

function reaches(p: Named<LocalRateLimitPolicySpec>, workload: { namespace: string; labels: Record<string, string> }): boolean {
  if (p.namespace !== workload.namespace) return false;
  return !hasSelector(p) || selects(p.spec.selector?.matchLabels, workload.labels);
}

/** Best first: a selector over the whole namespace, then the oldest, then by name. */
function precedence(a: Named<LocalRateLimitPolicySpec>, b: Named<LocalRateLimitPolicySpec>): number {
  return Number(hasSelector(b)) - Number(hasSelector(a)) || a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name);
}

/** What the sidecar of this workload enforces: at most one entry per port and one without a port. Absent when none. */
export function compileLocalRateLimits(
  policies: readonly Named<LocalRateLimitPolicySpec>[],
  trustDomain: string,
  workload: { namespace: string; labels: Record<string, string> },
): LocalRateLimitConfig[] | undefined {
  const winners = new Map<number | undefined, Named<LocalRateLimitPolicySpec>>();
  for (const p of policies) {
    if (!reaches(p, workload)) continue;
    const current = winners.get(p.spec.port);
    if (current === undefined || precedence(p, current) < 0) winners.set(p.spec.port, p);
  }
  if (winners.size === 0) return undefined;
  const ports = [...winners.keys()].sort((a, b) => (a ?? Infinity) - (b ?? Infinity));
  return ports.map((port) => toConfig(winners.get(port)!, trustDomain));
}

function toConfig(p: Named<LocalRateLimitPolicySpec>, trustDomain: string): LocalRateLimitConfig {
  const spec = p.spec;
  return {
    policy: `${p.namespace}/${p.name}`,
    ...(spec.port === undefined ? {} : { port: spec.port }),
    ...(spec.total === undefined ? {} : { total: spec.total.requestsPerSecond }),
    ...(spec.identity === undefined ? {} : { identity: spec.identity.requestsPerSecond }),
    overrides: (spec.overrides ?? []).map((o) => ({
      requestsPerSecond: o.requestsPerSecond,
      clients: [...new Set(o.clientRefs.map((ref) => clientSpiffeId(ref, trustDomain)))],
    })),
  };
}

/** `namespace/serviceAccount` is a workload of this mesh; a SPIFFE ID is taken as written. */
function clientSpiffeId(ref: string, trustDomain: string): string {
  if (ref.startsWith('spiffe://')) return ref;
  const [namespace, serviceAccount] = ref.split('/') as [string, string];
  return workloadSpiffeId(trustDomain, namespace, serviceAccount);
}
