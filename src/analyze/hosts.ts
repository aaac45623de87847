/** How the analyzer reads a host written in a resource, with the compiler's own resolution rules. */
import { ruleHost } from '../control/compile/destination-rule.js';
import { resolveHost } from '../control/compile/gateway.js';
import { hostSubsetOf } from '../control/compile/sidecar-scope.js';

/**
 * The names a written host may stand for: Istio's short-name rule (`reviews` → `reviews.<ns>.svc.cluster.local`)
 * and the compiler's `name.namespace` rule for routes. Either one matching a known host counts.
 */
export function hostReadings(host: string, namespace: string): string[] {
  return [...new Set([ruleHost(host, namespace), resolveHost(host, namespace)])];
}

/** Do two hosts (either may be a wildcard) name at least one host in common? */
export function hostsOverlap(a: string, b: string): boolean {
  return hostSubsetOf(a, b) || hostSubsetOf(b, a);
}

/** `ns/host` as Gateways and Sidecars write it: the namespace part ('' when absent) and the host. */
export function splitNamespacedHost(text: string): { namespace: string; host: string } {
  const slash = text.indexOf('/');
  return slash < 0 ? { namespace: '', host: text } : { namespace: text.slice(0, slash), host: text.slice(slash + 1) };
}
