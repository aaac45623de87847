/**
 * One AuthorizationPolicy rule → one Matcher, the way Istio builds Envoy RBAC policies:
 * AND(OR(from.source), OR(to.operation), each when); inside a field, values are ORed and notValues
 * become NOT(OR(...)). For a TCP connection, HTTP-only fields cannot be evaluated: an ALLOW rule using
 * one never matches, while DENY, AUDIT and CUSTOM rules drop the field and so match more widely.
 */
import type { AuthzAction, AuthzRuleSpec, AuthzOperationSpec, AuthzSourceSpec } from '../config/kinds/authorization-policy.js';
import type { ConditionKey } from './condition-keys.js';
import { isHttpOnlyKey, parseConditionKey } from './condition-keys.js';
import { parseCidr } from './ip-block.js';
import type { Matcher } from './matcher.js';
import { compilePathTemplate, containsPathTemplate } from './path-template.js';
import type { StringMatcher } from './string-match.js';
import { assertNever, compileStringMatcher } from './string-match.js';
import type { TrustDomainBundle } from './trust-domain-bundle.js';
import { expandTrustDomainAliases, replaceTrustDomainAliases } from './trust-domain-bundle.js';

export interface RuleContext {
  readonly forTcp: boolean;
  readonly action: AuthzAction;
  /** The policy's namespace: the default namespace of a bare service account name. */
  readonly namespace: string;
  /** The mesh's trust domain and its aliases; null leaves principals and trust domains as written. */
  readonly trustDomains: TrustDomainBundle | null;
}

const ANY: Matcher = { kind: 'any' };
export const NEVER: Matcher = { kind: 'not', of: ANY };
const NON_EMPTY: StringMatcher = { kind: 'nonEmpty' };

/** Thrown inside compilation when the whole rule must be skipped; never escapes this module. */
class SkipRule {
  constructor(readonly reason: string) {}
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function namespacePattern(ns: string): RegExp {
  const body = ns.split('*').map(escapeRegExp).join('.*');
  return new RegExp(`^.*/ns/${body}/.*$`);
}

/**
 * Istio's source.trustDomain matcher on the principal (`<td>/ns/...`): `*` any authenticated peer, `abc` exactly that
 * domain, one `*` at the start or end any domain with that suffix or prefix (never across a `/`).
 */
function trustDomainPattern(value: string): RegExp {
  if (value === '*') return /^/;
  const star = value.indexOf('*');
  if (star < 0) return new RegExp(`^${escapeRegExp(value)}/`);
  return new RegExp(`^${escapeRegExp(value.slice(0, star))}[^/]*${escapeRegExp(value.slice(star + 1))}/`);
}

function serviceAccountPattern(defaultNs: string, value: string): RegExp {
  const slash = value.indexOf('/');
  const ns = slash < 0 ? defaultNs : value.slice(0, slash);
  const sa = slash < 0 ? value : value.slice(slash + 1);
  return new RegExp(`^.+/ns/${escapeRegExp(ns)}/(.+/|)sa/${escapeRegExp(sa)}(/.+)?$`);
}

/** Istio matches a request principal as issuer and subject claims, split at the last `/`. */
function requestPrincipalMatcher(value: string): Matcher {
  const idx = value.lastIndexOf('/');
  const found = idx >= 0;
  const iss = found ? value.slice(0, idx) : value;
  const sub = found ? value.slice(idx + 1) : '';
  const exact = (s: string): StringMatcher => ({ kind: 'exact', value: s, ignoreCase: false });
  if (value === '*') return { kind: 'requestPrincipal', iss: NON_EMPTY, sub: NON_EMPTY };
  if (value.startsWith('*')) {
    if (!found) return { kind: 'requestPrincipal', iss: NON_EMPTY, sub: { kind: 'suffix', value: value.slice(1), ignoreCase: false } };
    return {
      kind: 'requestPrincipal',
      iss: iss === '*' ? NON_EMPTY : { kind: 'suffix', value: iss.slice(1), ignoreCase: false },
      sub: exact(sub),
    };
  }
  if (value.endsWith('*')) {
    if (!found) return { kind: 'requestPrincipal', iss: { kind: 'prefix', value: value.slice(0, -1), ignoreCase: false }, sub: NON_EMPTY };
    return {
      kind: 'requestPrincipal',
      iss: exact(iss),
      sub: sub === '*' ? NON_EMPTY : { kind: 'prefix', value: sub.slice(0, -1), ignoreCase: false },
    };
  }
  return { kind: 'requestPrincipal', iss: exact(iss), sub: exact(sub) };
}

/** The matcher for one value of one field; null drops the value (Istio ignores a bad value outside ALLOW). */
function valueMatcher(key: ConditionKey, value: string, ctx: RuleContext): Matcher | null {
  const cidr = (kind: 'sourceIp' | 'remoteIp' | 'destinationIp'): Matcher | null => {
    const block = parseCidr(value);
    if (block) return { kind, cidr: block };
    if (ctx.action === 'ALLOW') throw new SkipRule(`bad IP or CIDR ${value}`);
    return null;
  };
  switch (key.kind) {
    case 'sourcePrincipal':
      return { kind: 'sourcePrincipal', m: compileStringMatcher(value.startsWith('spiffe://') ? value.slice(9) : value) };
    case 'sourceNamespace':
      return { kind: 'principalPattern', re: namespacePattern(value) };
    case 'sourceTrustDomain':
      return { kind: 'principalPattern', re: trustDomainPattern(value) };
    case 'sourceServiceAccount':
      return { kind: 'principalPattern', re: serviceAccountPattern(ctx.namespace, value) };
    case 'requestPrincipal':
      return requestPrincipalMatcher(value);
    case 'sourceIp':
    case 'remoteIp':
    case 'destinationIp':
      return cidr(key.kind);
    case 'destinationPort': {
      const port = Number(value);
      if (/^[0-9]+$/.test(value) && port <= 65535) return { kind: 'destinationPort', port };
      if (ctx.action === 'ALLOW') throw new SkipRule(`bad port ${value}`);
      return null;
    }
    case 'connectionSni':
      return { kind: 'sni', m: compileStringMatcher(value) };
    case 'requestHeader':
      return { kind: 'header', name: key.header, m: value === '*' ? null : compileStringMatcher(value) };
    case 'requestAudiences':
      return { kind: 'audience', m: compileStringMatcher(value) };
    case 'requestPresenter':
      return { kind: 'presenter', m: compileStringMatcher(value) };
    case 'requestClaim':
      return { kind: 'claim', path: key.path, m: compileStringMatcher(value) };
    case 'envoyFilterMetadata':
      return { kind: 'envoyMetadata' };
    default:
      return assertNever(key);
  }
}

type OperationField = 'host' | 'method' | 'path';

function operationMatcher(field: OperationField, value: string): Matcher {
  switch (field) {
    case 'host':
      return { kind: 'host', m: value === '*' ? null : compileStringMatcher(value, true) };
    case 'method':
      return { kind: 'method', m: compileStringMatcher(value) };
    case 'path':
      return containsPathTemplate(value) ? { kind: 'pathTemplate', re: compilePathTemplate(value) } : { kind: 'path', m: compileStringMatcher(value) };
    default:
      return assertNever(field);
  }
}

function orOf(ms: Matcher[]): Matcher {
  return ms.length === 1 ? ms[0]! : { kind: 'or', of: ms };
}

function andOf(ms: Matcher[]): Matcher {
  if (ms.length === 0) return ANY;
  return ms.length === 1 ? ms[0]! : { kind: 'and', of: ms };
}

/** values → OR, notValues → NOT(OR); pushes 0, 1 or 2 matchers onto `into`. */
function field(
  into: Matcher[],
  values: readonly string[] | undefined,
  notValues: readonly string[] | undefined,
  httpOnly: boolean,
  make: (v: string) => Matcher | null,
  ctx: RuleContext,
  name: string,
): void {
  if ((values?.length ?? 0) === 0 && (notValues?.length ?? 0) === 0) return;
  if (ctx.forTcp && httpOnly) {
    if (ctx.action === 'ALLOW') throw new SkipRule(`${name} is HTTP only`);
    return;
  }
  const vs = (values ?? []).map(make).filter((m): m is Matcher => m !== null);
  if (vs.length > 0) into.push(orOf(vs));
  const ns = (notValues ?? []).map(make).filter((m): m is Matcher => m !== null);
  if (ns.length > 0) into.push({ kind: 'not', of: orOf(ns) });
}

/** Istio's trust domain migration, applied to the values of principal and trust domain fields before matching. */
function migrated(key: ConditionKey, values: readonly string[] | undefined, ctx: RuleContext): readonly string[] | undefined {
  if (!values || values.length === 0 || ctx.trustDomains === null) return values;
  if (key.kind === 'sourcePrincipal') return replaceTrustDomainAliases(ctx.trustDomains, values);
  if (key.kind === 'sourceTrustDomain') return expandTrustDomainAliases(ctx.trustDomains, values);
  return values;
}

function sourceMatcher(src: AuthzSourceSpec, ctx: RuleContext): Matcher {
  const parts: Matcher[] = [];
  const key = (k: ConditionKey) => (v: string) => valueMatcher(k, v, ctx);
  const principal: ConditionKey = { kind: 'sourcePrincipal' };
  const trustDomain: ConditionKey = { kind: 'sourceTrustDomain' };
  field(parts, migrated(principal, src.principals, ctx), migrated(principal, src.notPrincipals, ctx), false, key(principal), ctx, 'principals');
  field(parts, src.requestPrincipals, src.notRequestPrincipals, true, key({ kind: 'requestPrincipal' }), ctx, 'requestPrincipals');
  field(parts, src.namespaces, src.notNamespaces, false, key({ kind: 'sourceNamespace' }), ctx, 'namespaces');
  field(parts, migrated(trustDomain, src.trustDomains, ctx), migrated(trustDomain, src.notTrustDomains, ctx), false, key(trustDomain), ctx, 'trustDomains');
  field(parts, src.serviceAccounts, src.notServiceAccounts, false, key({ kind: 'sourceServiceAccount' }), ctx, 'serviceAccounts');
  field(parts, src.remoteIpBlocks, src.notRemoteIpBlocks, false, key({ kind: 'remoteIp' }), ctx, 'remoteIpBlocks');
  field(parts, src.ipBlocks, src.notIpBlocks, false, key({ kind: 'sourceIp' }), ctx, 'ipBlocks');
  return andOf(parts);
}

function operationMatcherFor(op: AuthzOperationSpec, ctx: RuleContext): Matcher {
  const parts: Matcher[] = [];
  field(parts, op.hosts, op.notHosts, true, (v) => operationMatcher('host', v), ctx, 'hosts');
  field(parts, op.methods, op.notMethods, true, (v) => operationMatcher('method', v), ctx, 'methods');
  field(parts, op.paths, op.notPaths, true, (v) => operationMatcher('path', v), ctx, 'paths');
  field(parts, op.ports, op.notPorts, false, (v) => valueMatcher({ kind: 'destinationPort' }, v, ctx), ctx, 'ports');
  return andOf(parts);
}

export type CompiledRule = { ok: true; matcher: Matcher } | { ok: false; reason: string };

export function compileRule(rule: AuthzRuleSpec, ctx: RuleContext): CompiledRule {
  try {
    const parts: Matcher[] = [];
    if (rule.from && rule.from.length > 0) {
      parts.push(orOf(rule.from.map((f) => (f.source ? sourceMatcher(f.source, ctx) : ANY))));
    }
    if (rule.to && rule.to.length > 0) {
      parts.push(orOf(rule.to.map((t) => (t.operation ? operationMatcherFor(t.operation, ctx) : ANY))));
    }
    for (const cond of rule.when ?? []) {
      const parsed = parseConditionKey(cond.key);
      if (!parsed.ok) throw new SkipRule(parsed.message);
      const k = parsed.key;
      field(parts, migrated(k, cond.values, ctx), migrated(k, cond.notValues, ctx), isHttpOnlyKey(k), (v) => valueMatcher(k, v, ctx), ctx, cond.key);
    }
    return { ok: true, matcher: andOf(parts) };
  } catch (err) {
    if (err instanceof SkipRule) return { ok: false, reason: err.reason };
    throw err;
  }
}
