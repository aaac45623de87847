/**
 * The compiled form of AuthorizationPolicy rules, after Envoy's RBAC matchers: immutable tagged objects,
 * one switch to evaluate, and/or short-circuit. Hand-written because no library carries Istio's semantics.
 */
import type { CidrBlock, IpAddress } from './ip-block.js';
import { cidrContains } from './ip-block.js';
import type { StringMatcher } from './string-match.js';
import { assertNever, matchString } from './string-match.js';
import type { AuthzRequest } from './types.js';

export type Matcher =
  | { readonly kind: 'any' }
  | { readonly kind: 'and'; readonly of: readonly Matcher[] }
  | { readonly kind: 'or'; readonly of: readonly Matcher[] }
  | { readonly kind: 'not'; readonly of: Matcher }
  | { readonly kind: 'sourcePrincipal'; readonly m: StringMatcher }
  | { readonly kind: 'principalPattern'; readonly re: RegExp }
  | { readonly kind: 'requestPrincipal'; readonly iss: StringMatcher; readonly sub: StringMatcher }
  | { readonly kind: 'sourceIp'; readonly cidr: CidrBlock }
  | { readonly kind: 'remoteIp'; readonly cidr: CidrBlock }
  | { readonly kind: 'destinationIp'; readonly cidr: CidrBlock }
  | { readonly kind: 'destinationPort'; readonly port: number }
  | { readonly kind: 'sni'; readonly m: StringMatcher }
  | { readonly kind: 'host'; readonly m: StringMatcher | null }
  | { readonly kind: 'method'; readonly m: StringMatcher }
  | { readonly kind: 'path'; readonly m: StringMatcher }
  | { readonly kind: 'pathTemplate'; readonly re: RegExp }
  /** m null: presence (`*`) */
  | { readonly kind: 'header'; readonly name: string; readonly m: StringMatcher | null }
  | { readonly kind: 'claim'; readonly path: readonly string[]; readonly m: StringMatcher }
  | { readonly kind: 'audience'; readonly m: StringMatcher }
  | { readonly kind: 'presenter'; readonly m: StringMatcher }
  /** weft publishes no Envoy filter metadata, so such a value is always absent. */
  | { readonly kind: 'envoyMetadata' };

/** Per-request values derived once, so that matching many rules parses nothing twice. */
export interface RequestView {
  readonly req: AuthzRequest;
  readonly principal: string | null;
  readonly sourceIp: IpAddress | null;
  readonly remoteIp: IpAddress | null;
  readonly destinationIp: IpAddress | null;
  readonly issuer: string | null;
  readonly subject: string | null;
}

// Istio's JWT filter turns these space-delimited claims into lists before authorization sees them.
const SPACE_DELIMITED_CLAIMS = new Set(['scope', 'permission']);

function claimValue(claims: Record<string, unknown>, path: readonly string[]): unknown {
  let v: unknown = claims;
  for (const name of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[name];
  }
  if (path.length === 1 && typeof v === 'string' && SPACE_DELIMITED_CLAIMS.has(path[0]!)) {
    return v.split(' ').filter((s) => s !== '');
  }
  return v;
}

function matchClaim(m: StringMatcher, v: unknown): boolean {
  if (typeof v === 'string') return matchString(m, v);
  if (Array.isArray(v)) return v.some((e) => typeof e === 'string' && matchString(m, e));
  return false;
}

export function matches(m: Matcher, v: RequestView): boolean {
  switch (m.kind) {
    case 'any':
      return true;
    case 'and':
      for (const x of m.of) if (!matches(x, v)) return false;
      return true;
    case 'or':
      for (const x of m.of) if (matches(x, v)) return true;
      return false;
    case 'not':
      return !matches(m.of, v);
    case 'sourcePrincipal':
      return v.principal !== null && matchString(m.m, v.principal);
    case 'principalPattern':
      return v.principal !== null && m.re.test(v.principal);
    case 'requestPrincipal':
      return v.issuer !== null && v.subject !== null && matchString(m.iss, v.issuer) && matchString(m.sub, v.subject);
    case 'sourceIp':
      return cidrContains(m.cidr, v.sourceIp);
    case 'remoteIp':
      return cidrContains(m.cidr, v.remoteIp);
    case 'destinationIp':
      return cidrContains(m.cidr, v.destinationIp);
    case 'destinationPort':
      return v.req.connection.destinationPort === m.port;
    case 'sni':
      return matchString(m.m, v.req.connection.sni ?? '');
    case 'host':
      if (!v.req.http) return false;
      return m.m === null ? true : matchString(m.m, v.req.http.host);
    case 'method':
      return v.req.http !== undefined && matchString(m.m, v.req.http.method);
    case 'path':
      return v.req.http !== undefined && matchString(m.m, v.req.http.path);
    case 'pathTemplate':
      return v.req.http !== undefined && m.re.test(v.req.http.path);
    case 'header': {
      const value = v.req.http?.headers[m.name];
      if (value === undefined) return false;
      return m.m === null ? true : matchString(m.m, value);
    }
    case 'claim':
      return v.req.auth !== undefined && matchClaim(m.m, claimValue(v.req.auth.claims, m.path));
    case 'audience':
      return v.req.auth !== undefined && v.req.auth.audiences.some((a) => matchString(m.m, a));
    case 'presenter':
      return v.req.auth?.presenter !== undefined && matchString(m.m, v.req.auth.presenter);
    case 'envoyMetadata':
      return false;
    default:
      return assertNever(m);
  }
}
