/**
 * The authorization engine of one workload: the policies that bind it, compiled once into an enforced
 * engine and a shadow (dry-run) engine, Envoy RBAC-style. `evaluate` is pure and allocation-light.
 */
import type { AuthzAction } from '../config/kinds/authorization-policy.js';
import { parseIpAddress } from './ip-block.js';
import type { Matcher, RequestView } from './matcher.js';
import { matches } from './matcher.js';
import { compileRule } from './compile-rule.js';
import type { AuthzPolicyInput, WorkloadScope } from './policy-scope.js';
import { comparePolicies, isDryRun, policyReach } from './policy-scope.js';
import type { TrustDomainBundle } from './trust-domain-bundle.js';
import type { AuthzDecision, AuthzRequest, DryRunResult, LocalVerdict } from './types.js';

export interface CompiledPolicy {
  readonly id: string;
  readonly action: AuthzAction;
  readonly provider: string | undefined;
  readonly dryRun: boolean;
  /** [rule index, matcher] in Envoy's evaluation order; rules skipped at compile time are absent. */
  readonly rules: ReadonlyArray<readonly [number, Matcher]>;
}

export interface CompileNote {
  policy: string;
  rule: number | null;
  message: string;
}

export interface AuthzEngine {
  /** Compiled for HTTP requests; TCP connections use `tcp`, where HTTP-only fields are handled as Istio does. */
  evaluate(req: AuthzRequest): AuthzDecision;
  readonly policies: readonly CompiledPolicy[];
  readonly notes: readonly CompileNote[];
}

interface Side {
  readonly custom: readonly CompiledPolicy[];
  readonly deny: readonly CompiledPolicy[];
  readonly allow: readonly CompiledPolicy[];
  readonly audit: readonly CompiledPolicy[];
  readonly shadow: readonly CompiledPolicy[];
  /** More than one CUSTOM provider on one workload is a configuration Istio refuses by denying. */
  readonly conflictingProviders: boolean;
}

function compileSide(
  policies: readonly AuthzPolicyInput[],
  forTcp: boolean,
  trustDomains: TrustDomainBundle | null,
  notes: CompileNote[] | null,
): { side: Side; all: CompiledPolicy[] } {
  const all: CompiledPolicy[] = policies.map((p) => {
    const action = p.spec.action ?? 'ALLOW';
    const id = `${p.namespace}/${p.name}`;
    const specRules = p.spec.rules ?? [];
    // Envoy keys rules as `...-rule[i]` in a sorted map, so rule 10 is tried before rule 2.
    const order = specRules.map((_, i) => i).sort((a, b) => (String(a) < String(b) ? -1 : 1));
    const rules: Array<readonly [number, Matcher]> = [];
    for (const i of order) {
      const compiled = compileRule(specRules[i]!, { forTcp, action, namespace: p.namespace, trustDomains });
      if (compiled.ok) rules.push([i, compiled.matcher] as const);
      else notes?.push({ policy: id, rule: i, message: `rule skipped${forTcp ? ' for TCP' : ''}: ${compiled.reason}` });
    }
    return { id, action, provider: p.spec.provider?.name, dryRun: isDryRun(p.annotations), rules };
  });
  const enforced = all.filter((p) => !p.dryRun);
  const custom = enforced.filter((p) => p.action === 'CUSTOM');
  return {
    all,
    side: {
      custom,
      deny: enforced.filter((p) => p.action === 'DENY'),
      allow: enforced.filter((p) => p.action === 'ALLOW'),
      audit: enforced.filter((p) => p.action === 'AUDIT'),
      shadow: all.filter((p) => p.dryRun),
      conflictingProviders: new Set(custom.map((p) => p.provider)).size > 1,
    },
  };
}

function firstRule(p: CompiledPolicy, v: RequestView): number | null {
  for (const [i, m] of p.rules) if (matches(m, v)) return i;
  return null;
}

function firstMatch(ps: readonly CompiledPolicy[], v: RequestView): { policy: CompiledPolicy; rule: number } | null {
  for (const p of ps) {
    const rule = firstRule(p, v);
    if (rule !== null) return { policy: p, rule };
  }
  return null;
}

function requestView(req: AuthzRequest): RequestView {
  const c = req.connection;
  const principal = c.sourcePrincipal ? (c.sourcePrincipal.startsWith('spiffe://') ? c.sourcePrincipal.slice(9) : c.sourcePrincipal) : null;
  let issuer: string | null = null;
  let subject: string | null = null;
  if (req.auth) {
    const { iss, sub } = req.auth.claims;
    if (typeof iss === 'string' && typeof sub === 'string') {
      issuer = iss;
      subject = sub;
    } else {
      const idx = req.auth.principal.lastIndexOf('/');
      issuer = idx < 0 ? req.auth.principal : req.auth.principal.slice(0, idx);
      subject = idx < 0 ? '' : req.auth.principal.slice(idx + 1);
    }
  }
  return {
    req,
    principal,
    sourceIp: parseIpAddress(c.sourceIp),
    remoteIp: parseIpAddress(c.remoteIp ?? c.sourceIp),
    destinationIp: parseIpAddress(c.destinationIp),
    issuer,
    subject,
  };
}

function localVerdict(side: Side, v: RequestView): LocalVerdict {
  const denied = firstMatch(side.deny, v);
  if (denied) return { decision: 'DENY', policy: denied.policy.id, rule: denied.rule };
  // No ALLOW policy: allowed unless denied. Any ALLOW policy, even one whose rules were all skipped: only matches.
  if (side.allow.length === 0) return { decision: 'ALLOW', policy: null, rule: null };
  const allowed = firstMatch(side.allow, v);
  if (allowed) return { decision: 'ALLOW', policy: allowed.policy.id, rule: allowed.rule };
  return { decision: 'DENY', policy: null, rule: null };
}

function dryRunResults(side: Side, v: RequestView): DryRunResult[] {
  if (side.shadow.length === 0) return [];
  const results = side.shadow.map((p) => ({ p, rule: firstRule(p, v) }));
  const anyShadowAllow = results.some((r) => r.p.action === 'ALLOW' && r.rule !== null);
  return results.map(({ p, rule }) => ({
    policy: p.id,
    rule,
    action: p.action,
    wouldMatch: rule !== null,
    wouldDeny: p.action === 'DENY' ? rule !== null : p.action === 'ALLOW' ? !anyShadowAllow : false,
  }));
}

function evaluateSide(side: Side, req: AuthzRequest): AuthzDecision {
  const v = requestView(req);
  const dryRun = dryRunResults(side, v);
  const audited = firstMatch(side.audit, v);
  const audit = audited ? { audit: true, auditPolicy: audited.policy.id } : { audit: false };
  const custom = firstMatch(side.custom, v);
  if (custom) {
    if (side.conflictingProviders) {
      return { decision: 'DENY', policy: custom.policy.id, rule: custom.rule, dryRun, ...audit };
    }
    return {
      decision: 'CUSTOM',
      policy: custom.policy.id,
      rule: custom.rule,
      provider: custom.policy.provider ?? '',
      afterCustom: localVerdict(side, v),
      dryRun,
      ...audit,
    };
  }
  return { ...localVerdict(side, v), dryRun, ...audit };
}

export function compileAuthorizationPolicies(policies: readonly AuthzPolicyInput[], scope: WorkloadScope): AuthzEngine {
  const notes: CompileNote[] = [];
  const applicable: AuthzPolicyInput[] = [];
  for (const p of policies) {
    if (p.spec.targetRef !== undefined || (p.spec.targetRefs?.length ?? 0) > 0) {
      notes.push({ policy: `${p.namespace}/${p.name}`, rule: null, message: 'targetRef(s) bind a gateway or service, not a sidecar workload; ignored here' });
      continue;
    }
    if (policyReach(p, scope) !== null) applicable.push(p);
  }
  applicable.sort((a, b) => comparePolicies(a, b, scope.rootNamespace));
  const trustDomains = scope.trustDomain === undefined ? null : [scope.trustDomain, ...(scope.trustDomainAliases ?? [])];
  const http = compileSide(applicable, false, trustDomains, notes);
  const tcp = compileSide(applicable, true, trustDomains, notes);
  return {
    policies: http.all,
    notes,
    evaluate: (req) => evaluateSide(req.http ? http.side : tcp.side, req),
  };
}
