/**
 * Where a routed request goes upstream: Istio's rewrite as Envoy performs it.
 * - `uri` is Envoy's prefix_rewrite: it replaces what the matched entry matched as a prefix. An exact or regex uri
 *   match counts the whole path as matched, so the whole path is replaced; an entry without a uri match is Istio's
 *   prefix "/", so only the leading "/" is replaced (`/v2` + `/a` gives `/v2a`, as with Istio).
 * - `uriRegexRewrite` replaces every match of an RE2 pattern in the path (RE2::GlobalReplace), `\N` inserting groups.
 * - The query string is never touched.
 */
import type { RE2JS } from 're2js';
import type { HttpRoute, RouteDestination } from '../proxyconfig/types.js';
import { compileRe2, parseSubstitution } from './re2.js';
import { matchedPrefixLength } from './string-match.js';
import type { MatchedRoute } from './http-route-match.js';

export interface CompiledRewrite {
  readonly uri: string | undefined;
  readonly regex: RE2JS | undefined;
  /** Builds the substitution from re2js's replacer arguments (match, ...groups, offset, input). */
  readonly substitute: ((...args: unknown[]) => string) | undefined;
}

export function compileRewrite(route: HttpRoute): CompiledRewrite | undefined {
  const rw = route.rewrite;
  if (!rw || (rw.uri === undefined && rw.uriRegexRewrite === undefined)) return undefined;
  if (!rw.uriRegexRewrite) return { uri: rw.uri, regex: undefined, substitute: undefined };
  const regex = compileRe2(rw.uriRegexRewrite.match);
  const parts = parseSubstitution(rw.uriRegexRewrite.rewrite, regex.groupCount());
  if (typeof parts === 'string') throw new SyntaxError(`invalid uriRegexRewrite: ${parts}`);
  const substitute = (...args: unknown[]): string => {
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : ((args[p] as string | undefined) ?? '');
    return out;
  };
  return { uri: undefined, regex, substitute };
}

/** The upstream path (without query) for a matched entry; the same string when nothing rewrites it. */
export function rewritePath(entry: MatchedRoute, path: string): string {
  const rw = entry.rule.rewrite;
  if (!rw) return path;
  if (rw.regex && rw.substitute) return rw.regex.matcher(path).replaceAll(rw.substitute);
  if (rw.uri === undefined) return path;
  const uri = entry.match?.uri;
  const prefix = uri === undefined || 'present' in uri ? 1 : matchedPrefixLength(uri);
  return prefix === undefined ? rw.uri : rw.uri + path.slice(Math.min(prefix, path.length));
}

/**
 * The authority sent upstream: the route's rewrite (or its request header `host`/`:authority`) wins over the
 * destination's, as Istio configures Envoy; otherwise the client's.
 */
export function rewriteAuthority(entry: MatchedRoute, destination: RouteDestination | undefined, authority: string): string {
  return entry.rule.route.rewrite?.authority ?? destination?.authority ?? authority;
}
