/**
 * VirtualService HTTP route matching, compiled once per config into immutable matchers and shared by every proxy
 * role (and the CLI). Istio's rules: routes are tried in order and the first whose match list has one entry that
 * matches wins; within one entry every condition must hold; an empty match list matches everything.
 */
import type { HttpMatch, HttpRoute, StringMatch } from '../proxyconfig/types.js';

export interface RouteRequest {
  /** Normalised path without the query. */
  path: string;
  query: URLSearchParams | undefined;
  method: string;
  authority: string;
  scheme: string;
  port: number;
  /** Lower-case header name → value. */
  headers: Record<string, string | string[] | undefined>;
}

type StringMatcher = (value: string) => boolean;

interface CompiledMatch {
  uri?: StringMatcher;
  method?: StringMatcher;
  authority?: StringMatcher;
  scheme?: StringMatcher;
  headers: Array<[string, StringMatcher]>;
  withoutHeaders: Array<[string, StringMatcher]>;
  queryParams: Array<[string, StringMatcher]>;
  port?: number;
}

export interface CompiledRoute {
  readonly route: HttpRoute;
  readonly matches: readonly CompiledMatch[];
}

export function compileStringMatch(m: StringMatch, ignoreCase = false): StringMatcher {
  if ('exact' in m) {
    const want = ignoreCase ? m.exact.toLowerCase() : m.exact;
    return ignoreCase ? (v) => v.toLowerCase() === want : (v) => v === want;
  }
  if ('prefix' in m) {
    const want = ignoreCase ? m.prefix.toLowerCase() : m.prefix;
    return ignoreCase ? (v) => v.toLowerCase().startsWith(want) : (v) => v.startsWith(want);
  }
  // Istio's regex is RE2 and must match the whole value.
  const re = new RegExp(`^(?:${m.regex})$`, ignoreCase ? 'i' : '');
  return (v) => re.test(v);
}

function compileMap(map: Record<string, StringMatch> | undefined, lowerKeys: boolean): Array<[string, StringMatcher]> {
  if (!map) return [];
  return Object.entries(map).map(([k, v]) => [lowerKeys ? k.toLowerCase() : k, compileStringMatch(v)]);
}

function compileMatch(m: HttpMatch): CompiledMatch {
  return {
    uri: m.uri ? compileStringMatch(m.uri, m.ignoreUriCase === true) : undefined,
    method: m.method ? compileStringMatch(m.method) : undefined,
    authority: m.authority ? compileStringMatch(m.authority) : undefined,
    scheme: m.scheme ? compileStringMatch(m.scheme) : undefined,
    headers: compileMap(m.headers, true),
    withoutHeaders: compileMap(m.withoutHeaders, true),
    queryParams: compileMap(m.queryParams, false),
    port: m.port,
  };
}

/** Throws (a SyntaxError from RegExp) on a route the proxy cannot apply, so the config is NACKed whole. */
export function compileRoutes(routes: readonly HttpRoute[]): CompiledRoute[] {
  return routes.map((route) => ({ route, matches: route.match.map(compileMatch) }));
}

function headerValue(h: string | string[] | undefined): string | undefined {
  return Array.isArray(h) ? h.join(',') : h;
}

function matchesOne(m: CompiledMatch, req: RouteRequest): boolean {
  if (m.uri && !m.uri(req.path)) return false;
  if (m.method && !m.method(req.method)) return false;
  if (m.authority && !m.authority(req.authority)) return false;
  if (m.scheme && !m.scheme(req.scheme)) return false;
  if (m.port !== undefined && m.port !== req.port) return false;
  for (const [name, match] of m.headers) {
    const v = headerValue(req.headers[name]);
    if (v === undefined || !match(v)) return false;
  }
  for (const [name, match] of m.withoutHeaders) {
    const v = headerValue(req.headers[name]);
    if (v !== undefined && match(v)) return false;
  }
  for (const [name, match] of m.queryParams) {
    const v = req.query?.get(name);
    if (v === null || v === undefined || !match(v)) return false;
  }
  return true;
}

export function selectRoute(routes: readonly CompiledRoute[], req: RouteRequest): CompiledRoute | undefined {
  for (const r of routes) {
    if (r.matches.length === 0) return r;
    for (const m of r.matches) if (matchesOne(m, req)) return r;
  }
  return undefined;
}

/** Istio's host matching for virtual hosts: exact, `*.suffix` (at least one label more), or `*`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}
