/**
 * VirtualService HTTP routing, compiled once per config into immutable matchers and shared by every proxy role and
 * the CLI. Istio's rules, as Envoy runs them: a virtual host is chosen by the request's host (exact name, then the
 * longest `*.suffix`, then `*`); its routes are tried in order and the first rule with one matching entry wins (an
 * empty match list matches everything); within one entry every condition must hold. A host with a virtual host but
 * no matching rule is answered 404; a host without one takes the default route (straight to the service).
 *
 * Per request, matching allocates nothing but a lower-cased host and joined repeated headers: the decisions it
 * returns are objects built at compile time.
 */
import type { HttpMatch, HttpRoute } from '../proxyconfig/types.js';
import { compileStringMatch } from './string-match.js';
import type { StringMatcher } from './string-match.js';
import { compileRewrite } from './rewrite.js';
import type { CompiledRewrite } from './rewrite.js';
import { compileCors } from './cors.js';
import type { CompiledCors } from './cors.js';

export interface RouteRequest {
  /** Normalised path without the query. */
  path: string;
  /** The raw query after `?` (Envoy's semantics: values are not decoded), or already parsed. */
  query: string | URLSearchParams | undefined;
  method: string;
  /** Host header or :authority as sent, with any port. */
  authority: string;
  scheme: string;
  /** The listener port the request arrived on. */
  port: number;
  /** Lower-case header name → value. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

interface CompiledMatch {
  readonly uri: StringMatcher | undefined;
  readonly method: StringMatcher | undefined;
  readonly authority: StringMatcher | undefined;
  readonly scheme: StringMatcher | undefined;
  readonly headers: ReadonlyArray<readonly [string, StringMatcher]>;
  readonly withoutHeaders: ReadonlyArray<readonly [string, StringMatcher, boolean]>;
  readonly queryParams: ReadonlyArray<readonly [string, StringMatcher]>;
  readonly port: number | undefined;
}

/** One rule (VirtualService http[] entry) of a virtual host. */
export interface CompiledRoute {
  readonly route: HttpRoute;
  readonly matches: readonly CompiledMatch[];
  /** One decision per match entry (one for an empty match list), built once. */
  readonly entries: readonly MatchedRoute[];
  readonly rewrite: CompiledRewrite | undefined;
  readonly cors: CompiledCors | undefined;
  /** The direct response body, decoded once. */
  readonly directBody: Buffer | undefined;
}

export class CompiledVirtualHost {
  readonly routes: readonly CompiledRoute[];
  /** The decision for a request no rule matches: 404. */
  readonly notFound: NotFound;

  constructor(
    readonly name: string,
    readonly domains: readonly string[],
    routes: readonly HttpRoute[],
  ) {
    this.notFound = { kind: 'not-found', virtualHost: this };
    this.routes = routes.map((r) => compileRule(r, this));
  }
}

/** A rule matched: `match` is the entry that matched (undefined for a rule without matches). */
export interface MatchedRoute {
  readonly kind: 'route';
  readonly rule: CompiledRoute;
  readonly matchIndex: number;
  readonly match: HttpMatch | undefined;
  readonly virtualHost: CompiledVirtualHost | undefined;
}
export interface NotFound {
  readonly kind: 'not-found';
  readonly virtualHost: CompiledVirtualHost;
}
export interface DefaultRoute {
  readonly kind: 'default';
}
export type RouteDecision = MatchedRoute | NotFound | DefaultRoute;

export const DEFAULT_ROUTE: DefaultRoute = Object.freeze({ kind: 'default' });

export interface VirtualHostInput {
  /** For logs: the VirtualService(s) behind it, or the service host. */
  name: string;
  /** Lower case: exact names, `*.suffix`, or `*`. */
  domains: readonly string[];
  routes: readonly HttpRoute[];
}

export interface CompiledRouteTable {
  readonly virtualHosts: readonly CompiledVirtualHost[];
  readonly exact: ReadonlyMap<string, CompiledVirtualHost>;
  /** `*.suffix` domains, longest first (ties keep config order). */
  readonly suffixes: ReadonlyArray<readonly [string, CompiledVirtualHost]>;
  readonly any: CompiledVirtualHost | undefined;
}

function compileMap(map: Record<string, HttpMatch['uri'] & object> | undefined): Array<[string, StringMatcher]> {
  if (!map) return [];
  return Object.entries(map).map(([k, v]) => [k.toLowerCase(), compileStringMatch(v)]);
}

function compileMatch(m: HttpMatch): CompiledMatch {
  return {
    uri: m.uri ? compileStringMatch(m.uri, m.ignoreUriCase === true) : undefined,
    method: m.method ? compileStringMatch(m.method) : undefined,
    authority: m.authority ? compileStringMatch(m.authority) : undefined,
    scheme: m.scheme ? compileStringMatch(m.scheme) : undefined,
    headers: compileMap(m.headers),
    withoutHeaders: Object.entries(m.withoutHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), compileStringMatch(v), 'present' in v] as const),
    queryParams: Object.entries(m.queryParams ?? {}).map(([k, v]) => [k, compileStringMatch(v)] as const),
    port: m.port,
  };
}

function compileRule(route: HttpRoute, virtualHost: CompiledVirtualHost | undefined): CompiledRoute {
  const entries: MatchedRoute[] = [];
  const rule: CompiledRoute = {
    route,
    matches: route.match.map(compileMatch),
    entries,
    rewrite: compileRewrite(route),
    cors: route.cors ? compileCors(route.cors) : undefined,
    directBody: directBody(route),
  };
  const count = Math.max(route.match.length, 1);
  for (let i = 0; i < count; i++) entries.push({ kind: 'route', rule, matchIndex: route.match.length === 0 ? -1 : i, match: route.match[i], virtualHost });
  return rule;
}

function directBody(route: HttpRoute): Buffer | undefined {
  const body = route.directResponse?.body;
  if (!body) return undefined;
  return 'string' in body ? Buffer.from(body.string, 'utf8') : Buffer.from(body.base64, 'base64');
}

/** Throws (SyntaxError for a regex RE2 refuses) on routes a proxy cannot apply, so the config is NACKed whole. */
export function compileRoutes(routes: readonly HttpRoute[]): CompiledRoute[] {
  return routes.map((r) => compileRule(r, undefined));
}

export function compileHttpRoutes(hosts: readonly VirtualHostInput[]): CompiledRouteTable {
  const exact = new Map<string, CompiledVirtualHost>();
  const suffixes: Array<[string, CompiledVirtualHost]> = [];
  let any: CompiledVirtualHost | undefined;
  const virtualHosts = hosts.map((h) => {
    const vh = new CompiledVirtualHost(h.name, h.domains, h.routes);
    for (const d of h.domains) {
      // The first virtual host to claim a domain keeps it, as Envoy refuses duplicates and Istio merges by host.
      if (d === '*') any ??= vh;
      else if (d.startsWith('*.')) suffixes.push([d.slice(1), vh]);
      else if (!exact.has(d)) exact.set(d, vh);
    }
    return vh;
  });
  suffixes.sort((a, b) => b[0].length - a[0].length);
  return { virtualHosts, exact, suffixes, any };
}

/** The host part of an authority, lower case, without a port (IPv6 literals keep their brackets). */
export function authorityHost(authority: string): string {
  let end = authority.length;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close > 0) end = close + 1;
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0) end = colon;
  }
  const host = end === authority.length ? authority : authority.slice(0, end);
  return host.toLowerCase();
}

export function findVirtualHost(table: CompiledRouteTable, host: string): CompiledVirtualHost | undefined {
  const exact = table.exact.get(host);
  if (exact) return exact;
  for (const [suffix, vh] of table.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
  return table.any;
}

export function matchHttpRoute(table: CompiledRouteTable, req: RouteRequest): RouteDecision {
  const vh = findVirtualHost(table, authorityHost(req.authority));
  if (!vh) return DEFAULT_ROUTE;
  return matchRoutes(vh.routes, req) ?? vh.notFound;
}

function headerValue(h: string | string[] | undefined): string | undefined {
  // Envoy matches a repeated header on its values joined with ",".
  return Array.isArray(h) ? h.join(',') : h;
}

/** Envoy's route query matching: the first occurrence of `name`, raw (not percent-decoded); `a` alone is "". */
export function firstQueryValue(query: string, name: string): string | undefined {
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const eq = query.indexOf('=', start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - start === name.length && query.startsWith(name, start)) return keyEnd === end ? '' : query.slice(keyEnd + 1, end);
    start = end + 1;
  }
  return undefined;
}

function queryValue(query: RouteRequest['query'], name: string): string | undefined {
  if (query === undefined) return undefined;
  if (typeof query === 'string') return firstQueryValue(query, name);
  return query.get(name) ?? undefined;
}

function matchesOne(m: CompiledMatch, req: RouteRequest): boolean {
  if (m.port !== undefined && m.port !== req.port) return false;
  if (m.uri && !m.uri.test(req.path)) return false;
  if (m.method && !m.method.test(req.method)) return false;
  if (m.authority && !m.authority.test(req.authority)) return false;
  if (m.scheme && !m.scheme.test(req.scheme)) return false;
  for (const [name, match] of m.headers) {
    const v = headerValue(req.headers[name]);
    if (v === undefined || !match.test(v)) return false;
  }
  for (const [name, match, presence] of m.withoutHeaders) {
    const v = headerValue(req.headers[name]);
    // Istio inverts the matcher and treats a missing header as "" (a presence test then requires absence).
    if (presence ? v !== undefined : match.test(v ?? '')) return false;
  }
  for (const [name, match] of m.queryParams) {
    const v = queryValue(req.query, name);
    if (v === undefined || !match.test(v)) return false;
  }
  return true;
}

/** The first rule entry that matches, in order. */
export function matchRoutes(routes: readonly CompiledRoute[], req: RouteRequest): MatchedRoute | undefined {
  for (const r of routes) {
    if (r.matches.length === 0) return r.entries[0];
    for (let i = 0; i < r.matches.length; i++) if (matchesOne(r.matches[i]!, req)) return r.entries[i];
  }
  return undefined;
}

/** Istio's host matching for virtual hosts and SNI: exact, `*.suffix` (at least one label more), or `*`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}
