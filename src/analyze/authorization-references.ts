/**
 * Kiali's AuthorizationPolicy validations: namespaces that do not exist (KIA0101), methods that are neither HTTP
 * methods nor fully-qualified gRPC names (KIA0102), hosts no registry entry answers (KIA0104), mTLS-only fields on
 * workloads that take plaintext (KIA0105), principals whose service account no workload runs as (KIA0106).
 */
import type { AuthorizationPolicySpec } from '../config/kinds/authorization-policy.js';
import type { GatewaySpec } from '../config/kinds/gateway.js';
import type { VirtualServiceSpec } from '../config/kinds/virtual-service.js';
import { GATEWAY_NAME } from '../mesh/ingress-gateway.js';
import { effectivePeerAuthn } from '../control/compile/peer-authentication.js';
import type { AnalysisContext, Check, Item } from './context.js';
import type { Finding } from './finding.js';
import { hostReadings, hostsOverlap, splitNamespacedHost } from './hosts.js';
import { policyWorkloads } from './policy-workloads.js';

type Policy = Item<AuthorizationPolicySpec>;

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
// `/package.Service/Method`, the path a gRPC call is made on.
const GRPC_METHOD = /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;
// `<trust domain>/ns/<namespace>/sa/<service account>`
const PRINCIPAL = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/;

const hasWildcard = (v: string): boolean => v.includes('*');

function eachRule(ap: Policy, visit: (rule: NonNullable<AuthorizationPolicySpec['rules']>[number], path: (string | number)[]) => void): void {
  (ap.spec.rules ?? []).forEach((rule, i) => visit(rule, ['spec', 'rules', i]));
}

/** Hosts a request can carry into the mesh: registry hosts, VirtualService hosts, Gateway server hosts. */
function routableHost(ctx: AnalysisContext, host: string, namespace: string): boolean {
  const bare = host.replace(/:\d+$/, '').toLowerCase();
  if (hostReadings(bare, namespace).some((h) => ctx.hostKnown(h))) return true;
  const vsHosts = ctx.of<VirtualServiceSpec>('VirtualService').flatMap((vs) => vs.spec.hosts ?? []);
  const gwHosts = ctx.of<GatewaySpec>('Gateway').flatMap((g) => (g.spec.servers ?? []).flatMap((s) => s.hosts.map((h) => splitNamespacedHost(h).host)));
  return [...vsHosts, ...gwHosts].some((h) => hostsOverlap(bare, h.toLowerCase()));
}

export const checkAuthorizationReferences: Check = (ctx) => {
  const out: Finding[] = [];
  const accounts = new Set(ctx.snapshot.registry.workloads.map((w) => `${w.namespace}/${w.serviceAccount}`));
  // weft's own ingress gateway runs in the root namespace as a service account of its name, with no Workload.
  accounts.add(`${ctx.rootNamespace}/${GATEWAY_NAME}`);
  for (const ap of ctx.of<AuthorizationPolicySpec>('AuthorizationPolicy')) {
    const workloads = policyWorkloads(ctx, ap);
    const plaintext = workloads.filter((w) => effectivePeerAuthn(ctx.snapshot.peerAuthentications, ctx.rootNamespace, w).defaultMode === 'DISABLE');
    eachRule(ap, (rule, path) => {
      (rule.from ?? []).forEach((f, j) => {
        const src = f.source ?? {};
        const at = [...path, 'from', j, 'source'];
        (src.namespaces ?? []).forEach((ns, k) => {
          if (hasWildcard(ns) || ctx.namespaces.has(ns)) return;
          out.push(ctx.finding(ap.entry, {
            code: 'KIA0101', severity: 'warning', path: [...at, 'namespaces', k],
            message: `Namespace not found for this rule: ${ns}`,
            fix: 'correct the namespace name, or remove it if the namespace is gone',
          }));
        });
        (src.principals ?? []).forEach((p, k) => {
          const m = PRINCIPAL.exec(p);
          if (m === null || hasWildcard(p) || accounts.has(`${m[1]}/${m[2]}`)) return;
          out.push(ctx.finding(ap.entry, {
            code: 'KIA0106', severity: 'error', path: [...at, 'principals', k],
            message: `Service Account not found for this principal: ${p}`,
            fix: `run a Workload with serviceAccount ${m[2]} in namespace ${m[1]}, or correct the principal`,
          }));
        });
        const mtlsOnly = (['principals', 'notPrincipals', 'namespaces', 'notNamespaces'] as const).filter((k) => (src[k]?.length ?? 0) > 0);
        if (mtlsOnly.length > 0 && plaintext.length > 0) {
          out.push(ctx.finding(ap.entry, {
            code: 'KIA0105', severity: 'error', path: [...at, mtlsOnly[0]!],
            message: `This field requires mTLS to be enabled: the PeerAuthentication of ${plaintext.map((w) => `${w.namespace}/${w.name}`).join(', ')} disables it`,
            fix: 'set the PeerAuthentication of these workloads to STRICT (or PERMISSIVE), or match on something that does not need a peer identity',
          }));
        }
      });
      (rule.to ?? []).forEach((t, j) => {
        const op = t.operation ?? {};
        const at = [...path, 'to', j, 'operation'];
        for (const key of ['methods', 'notMethods'] as const) {
          (op[key] ?? []).forEach((m, k) => {
            if (HTTP_METHODS.has(m) || GRPC_METHOD.test(m) || m === '*') return;
            out.push(ctx.finding(ap.entry, {
              code: 'KIA0102', severity: 'warning', path: [...at, key, k],
              message: `Only HTTP methods and fully-qualified gRPC names are allowed: ${m}`,
              fix: 'use an upper-case HTTP method (GET, POST, ...) or a gRPC name /package.Service/Method',
            }));
          });
        }
        (op.hosts ?? []).forEach((h, k) => {
          if (h === '*' || routableHost(ctx, h, ap.namespace)) return;
          out.push(ctx.finding(ap.entry, {
            code: 'KIA0104', severity: 'error', path: [...at, 'hosts', k],
            message: `This host has no matching entry in the service registry: ${h}`,
            fix: 'apply the Service, ServiceEntry or VirtualService for this host, or correct the host',
          }));
        });
      });
    });
  }
  return out;
};
