/**
 * Istio's `headers` operations on a request or a response, in Envoy's order within one set of rules: removals, then
 * `set` (replace every value), then `add` (append another value). The route's rules run first and the chosen
 * destination's after them, so a destination's `set` has the last word (Istio appends destination operations after
 * the route's). Names are matched case-insensitively and written lower case, as HTTP/2 and node do.
 */
import type { HeaderOperations, HeaderRules, RouteDestination } from '../proxyconfig/types.js';
import type { MatchedRoute } from './http-route-match.js';

export type HeaderBag = Record<string, string | string[] | undefined>;

export function applyHeaderOperations(ops: HeaderOperations | undefined, headers: HeaderBag): void {
  if (!ops) return;
  for (const name of ops.remove) delete headers[name.toLowerCase()];
  for (const [name, value] of ops.set) headers[name.toLowerCase()] = value;
  for (const [name, value] of ops.add) {
    const key = name.toLowerCase();
    const prior = headers[key];
    headers[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
}

function apply(route: HeaderRules | undefined, dest: HeaderRules | undefined, side: 'request' | 'response', headers: HeaderBag): void {
  applyHeaderOperations(route?.[side], headers);
  applyHeaderOperations(dest?.[side], headers);
}

/** The request headers sent upstream for a matched route and the destination it picked. */
export function applyRequestHeaders(entry: MatchedRoute, dest: RouteDestination | undefined, headers: HeaderBag): void {
  apply(entry.rule.route.headers, dest?.headers, 'request', headers);
}

/** The response headers sent back to the client. */
export function applyResponseHeaders(entry: MatchedRoute, dest: RouteDestination | undefined, headers: HeaderBag): void {
  apply(entry.rule.route.headers, dest?.headers, 'response', headers);
}
