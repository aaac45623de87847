/**
 * weft's own AuthorizationPolicy rule checks, on the authz engine's compile: an ALLOW rule that can never match
 * (WEFT0101), an ALLOW rule every request of which an earlier-evaluated DENY rule refuses (WEFT0102), HTTP-only
 * fields in a rule for workloads that only serve TCP (WEFT0103).
 */
import type { AuthorizationPolicySpec, AuthzRuleSpec } from '../config/kinds/authorization-policy.js';
import { compileRule } from '../authz/compile-rule.js';
import { isDryRun, policyReach } from '../authz/policy-scope.js';
import { targetPortOn, servicesOf } from '../control/registry/index.js';
import type { PortProtocol } from '../proxyconfig/types.js';
import type { AnalysisContext, Check, Item } from './context.js';
import type { Finding } from './finding.js';
import { policyWorkloads } from './policy-workloads.js';

type Policy = Item<AuthorizationPolicySpec>;
type Fields = Readonly<Record<string, readonly string[] | undefined>>;

const NEGATED: readonly (readonly [string, string])[] = [
  ['principals', 'notPrincipals'], ['requestPrincipals', 'notRequestPrincipals'], ['namespaces', 'notNamespaces'],
  ['serviceAccounts', 'notServiceAccounts'], ['ipBlocks', 'notIpBlocks'], ['remoteIpBlocks', 'notRemoteIpBlocks'],
  ['trustDomains', 'notTrustDomains'], ['hosts', 'notHosts'], ['ports', 'notPorts'], ['methods', 'notMethods'], ['paths', 'notPaths'],
];

/** A field whose every value its not-field excludes again: the element matches nothing. */
function contradiction(f: Fields): string | undefined {
  for (const [pos, neg] of NEGATED) {
    const values = f[pos] ?? [];
    if (values.length > 0 && values.every((v) => (f[neg] ?? []).includes(v))) return `${pos} ${values.join(', ')} are all excluded again by ${neg}`;
  }
  return undefined;
}

function neverMatches(ap: Policy, rule: AuthzRuleSpec): string | undefined {
  const compiled = compileRule(rule, { forTcp: false, action: 'ALLOW', namespace: ap.namespace, trustDomains: null });
  if (!compiled.ok) return `the authz engine skips it: ${compiled.reason}`;
  const from = (rule.from ?? []).map((f) => contradiction(f.source ?? {}));
  if (from.length > 0 && from.every((r) => r !== undefined)) return from[0];
  const to = (rule.to ?? []).map((t) => contradiction(t.operation ?? {}));
  if (to.length > 0 && to.every((r) => r !== undefined)) return to[0];
  for (const c of rule.when ?? []) {
    if ((c.values ?? []).length > 0 && (c.values ?? []).every((v) => (c.notValues ?? []).includes(v))) return `condition ${c.key} excludes every value it requires`;
  }
  return undefined;
}

/** Does DENY element `d` match every request ALLOW element `a` matches? Only positive, exact lists are compared. */
function covers(d: Fields | undefined, a: Fields | undefined): boolean {
  for (const [key, values] of Object.entries(d ?? {})) {
    if (values === undefined || values.length === 0) continue;
    if (key.startsWith('not')) return false;
    if (values.includes('*')) continue;
    const mine = a?.[key] ?? [];
    if (mine.length === 0 || !mine.every((v) => values.includes(v))) return false;
  }
  return true;
}

function single<T>(list: readonly T[] | undefined): T | undefined | null {
  if (list === undefined || list.length === 0) return undefined;
  return list.length === 1 ? list[0] : null;
}

function shadows(deny: AuthzRuleSpec, allow: AuthzRuleSpec): boolean {
  if ((deny.when ?? []).length > 0) return false;
  const [df, dt, af, at] = [single(deny.from), single(deny.to), single(allow.from), single(allow.to)];
  if (df === null || dt === null || af === null || at === null) return false;
  return covers(df?.source, af?.source) && covers(dt?.operation, at?.operation);
}

/** A DENY policy reaches every workload the ALLOW policy reaches. */
function reachesAll(ctx: AnalysisContext, deny: Policy, allow: Policy): boolean {
  const targets = policyWorkloads(ctx, allow);
  return targets.length > 0 && targets.every((w) =>
    policyReach({ namespace: deny.namespace, spec: deny.spec }, { rootNamespace: ctx.rootNamespace, workloadNamespace: w.namespace, workloadLabels: w.labels }) !== null);
}

export const checkAuthorizationRules: Check = (ctx) => {
  const out: Finding[] = [];
  const policies = ctx.of<AuthorizationPolicySpec>('AuthorizationPolicy');
  const denies = policies.filter((p) => p.spec.action === 'DENY' && !isDryRun(p.entry.resource.metadata.annotations));
  for (const ap of policies) {
    if ((ap.spec.action ?? 'ALLOW') !== 'ALLOW') continue;
    (ap.spec.rules ?? []).forEach((rule, i) => {
      const never = neverMatches(ap, rule);
      if (never !== undefined) {
        out.push(ctx.finding(ap.entry, {
          code: 'WEFT0101', severity: 'warning', path: ['spec', 'rules', i],
          message: `ALLOW rule ${i} can never match: ${never}`,
          fix: 'correct or remove the contradicting values; as written the rule allows nothing',
        }));
        return;
      }
      for (const deny of denies) {
        const j = (deny.spec.rules ?? []).findIndex((d) => shadows(d, rule));
        if (j < 0 || !reachesAll(ctx, deny, ap)) continue;
        out.push(ctx.finding(ap.entry, {
          code: 'WEFT0102', severity: 'warning', path: ['spec', 'rules', i],
          message: `ALLOW rule ${i} is shadowed: DENY policy ${deny.namespace}/${deny.name} rule ${j} (evaluated first) refuses every request it matches`,
          fix: `narrow the DENY rule of ${deny.namespace}/${deny.name}, or remove this ALLOW rule`,
        }));
        break;
      }
    });
  }
  return out;
};

/** The protocol of each port a workload serves: its Services' port names first, then its own port names. */
function workloadPortProtocols(ctx: AnalysisContext, ap: Policy): Map<number, PortProtocol> {
  const reg = ctx.snapshot.registry;
  const out = new Map<number, PortProtocol>();
  for (const w of policyWorkloads(ctx, ap)) {
    for (const p of w.ports) out.set(p.containerPort, p.protocol);
    for (const s of servicesOf(reg, w)) {
      for (const p of s.ports) {
        const target = targetPortOn(w, p);
        if (target !== undefined) out.set(target, p.protocol);
      }
    }
  }
  return out;
}

const isTcp = (p: PortProtocol | undefined): boolean => p === 'tcp' || p === 'tls';

export const checkL7FieldsOnTcp: Check = (ctx) => {
  const out: Finding[] = [];
  for (const ap of ctx.of<AuthorizationPolicySpec>('AuthorizationPolicy')) {
    const action = ap.spec.action ?? 'ALLOW';
    if (action !== 'ALLOW' && action !== 'DENY') continue;
    const protocols = workloadPortProtocols(ctx, ap);
    (ap.spec.rules ?? []).forEach((rule, i) => {
      // The engine's TCP compile of an ALLOW rule names the HTTP-only field it cannot enforce.
      const tcp = compileRule(rule, { forTcp: true, action: 'ALLOW', namespace: ap.namespace, trustDomains: null });
      if (tcp.ok || !tcp.reason.endsWith('is HTTP only')) return;
      const listed = (rule.to ?? []).flatMap((t) => t.operation?.ports ?? []).map(Number);
      const ports = listed.length > 0 ? listed : [...protocols.keys()];
      if (ports.length === 0 || !ports.every((p) => isTcp(protocols.get(p)))) return;
      const effect = action === 'ALLOW'
        ? 'on TCP the rule is skipped, so it allows nothing'
        : 'on TCP the HTTP fields are dropped, so the rule denies every connection the rest of it matches';
      out.push(ctx.finding(ap.entry, {
        code: 'WEFT0103', severity: 'warning', path: ['spec', 'rules', i],
        message: `${tcp.reason.replace(/ is HTTP only$/, '')} is HTTP only but port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} of the selected workloads serve${ports.length > 1 ? '' : 's'} TCP: ${effect}`,
        fix: 'name the port for its protocol (http-…, grpc-…) if it serves HTTP, or match TCP traffic on source, ports or IPs only',
      }));
    });
  }
  return out;
};
