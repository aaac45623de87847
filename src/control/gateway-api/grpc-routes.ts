/**
 * GRPCRoute matches to Istio path matches, as Istio converts them: service and method exact is the exact path
 * `/service/method`, a service alone the prefix `/service/`, a method alone the regex `/[^/]+/method`; with
 * RegularExpression each side is a regex (any segment where unset). Headers match as HTTPRoute's do.
 */
import type { GrpcRouteMatch } from '../../config/kinds/gateway-api/grpc-route.js';
import type { VsStringMatch } from '../../config/kinds/virtual-service.js';
import { valueMatches } from './http-routes.js';
import type { ExpandedMatch } from './http-routes.js';

function uriMatch(m: GrpcRouteMatch['method']): VsStringMatch | undefined {
  if (m === undefined) return undefined;
  if ((m.type ?? 'Exact') === 'RegularExpression') return { regex: `/${m.service ?? '[^/]+'}/${m.method ?? '[^/]+'}` };
  if (m.service !== undefined && m.method !== undefined) return { exact: `/${m.service}/${m.method}` };
  if (m.service !== undefined) return { prefix: `/${m.service}/` };
  return { regex: `/[^/]+/${m.method ?? ''}` };
}

export function expandGrpcMatches(matches: readonly GrpcRouteMatch[]): ExpandedMatch[] {
  return (matches.length === 0 ? [{}] : matches).map((m) => {
    const uri = uriMatch(m.method);
    const headers = valueMatches(m.headers, true);
    const pathKind = uri === undefined ? 0 : 'exact' in uri ? 3 : 'prefix' in uri ? 2 : 1;
    const pathLength = uri === undefined ? 0 : (uri.exact ?? uri.prefix ?? uri.regex ?? '').length;
    return { match: { ...(uri && { uri }), ...(headers && { headers }) }, rank: { pathKind, pathLength, method: false, headers: m.headers?.length ?? 0, query: 0 }, prefixBase: undefined };
  });
}
