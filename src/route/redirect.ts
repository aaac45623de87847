/**
 * Istio's HTTPRedirect as Envoy answers it: a status (301 unless set) and a Location built from the request.
 * - path: `uri` replaces the whole path (and the query only when it carries one); `prefixRewrite` replaces the
 *   matched prefix; otherwise the request's path and query stay.
 * - scheme: the redirect's, else the request's.
 * - host: the redirect's authority, else the request's host, which keeps its port unless a port is set or the scheme
 *   changes away from the port's default (Envoy's processRequestHost).
 * - port: `port`, or FROM_REQUEST_PORT's listener port; Istio leaves out :80 for http and :443 for https.
 */
import type { RouteRequest } from './http-route-match.js';
import type { MatchedRoute } from './http-route-match.js';
import { matchedPrefixLength } from './string-match.js';

export interface RedirectAnswer {
  status: number;
  location: string;
}

function splitHostPort(authority: string): [string, string] {
  const colon = authority.startsWith('[') ? authority.indexOf(']:') + 1 : authority.lastIndexOf(':');
  return colon > 0 ? [authority.slice(0, colon), authority.slice(colon)] : [authority, ''];
}

/** Undefined when the matched rule does not redirect. */
export function redirectFor(entry: MatchedRoute, req: RouteRequest, rawQuery: string): RedirectAnswer | undefined {
  const r = entry.rule.route.redirect;
  if (!r) return undefined;
  const scheme = r.scheme ?? req.scheme;
  let port = r.port === 'request' ? req.port : r.port;
  if (port !== undefined && ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https'))) port = undefined;
  let host: string;
  if (r.authority !== undefined && r.authority !== '') {
    host = r.authority;
  } else {
    const [name, requestPort] = splitHostPort(req.authority);
    const defaultPortOfOldScheme = (req.scheme === 'https' && requestPort === ':443') || (req.scheme === 'http' && requestPort === ':80');
    const dropPort = port !== undefined || (scheme !== req.scheme && defaultPortOfOldScheme);
    host = dropPort ? name : req.authority;
  }
  if (port !== undefined) host = `${splitHostPort(host)[0]}:${port}`;
  const query = rawQuery === '' ? '' : `?${rawQuery}`;
  let pathAndQuery: string;
  if (r.uri !== undefined && r.uri !== '') {
    pathAndQuery = r.uri.includes('?') ? r.uri : r.uri + query;
  } else if (r.prefixRewrite !== undefined && r.prefixRewrite !== '') {
    const uri = entry.match?.uri;
    const prefix = uri === undefined ? 1 : (matchedPrefixLength(uri) ?? req.path.length);
    pathAndQuery = r.prefixRewrite + req.path.slice(Math.min(prefix, req.path.length)) + query;
  } else {
    pathAndQuery = req.path + query;
  }
  return { status: r.code, location: `${scheme}://${host}${pathAndQuery}` };
}
