/**
 * Route match: the first rule of the request's routes (a service port's, or a gateway virtual host's) decides. No
 * rule matching answers 404 (`NR`), a redirect or direct response is answered here, an allowed CORS preflight too;
 * otherwise the weighted destination is chosen and the upstream path, authority and request headers are set as the
 * rule says. Response header operations and CORS response headers wrap the handler.
 */
import { matchRoutes } from '../../route/http-route-match.js';
import type { MatchedRoute, RouteRequest } from '../../route/http-route-match.js';
import { pickWeighted } from '../../route/weighted.js';
import { redirectFor } from '../../route/redirect.js';
import { rewriteAuthority, rewritePath } from '../../route/rewrite.js';
import { applyHeaderOperations } from '../../route/header-operations.js';
import type { HeaderBag } from '../../route/header-operations.js';
import { evaluateCors } from '../../route/cors.js';
import type { RouteDestination } from '../../proxyconfig/types.js';
import { replyLocally } from './exchange.js';
import type { Dispatch, Exchange, Layer, ResponseHandler, ResponseHeaders, UpstreamControl, UpstreamFailureEvent } from './exchange.js';
import { dropHopByHop } from './upstream-headers.js';

/** Response header operations and CORS headers on the way back. */
class RouteResponse implements ResponseHandler {
  constructor(
    private readonly outer: ResponseHandler,
    private readonly destination: RouteDestination | undefined,
    private readonly corsHeaders: ReadonlyArray<readonly [string, string]>,
  ) {}

  onHeaders(ex: Exchange, status: number, headers: ResponseHeaders, control: UpstreamControl): void {
    const rules = ex.route!.rule.route.headers;
    applyHeaderOperations(rules?.response, headers);
    applyHeaderOperations(this.destination?.headers?.response, headers);
    for (const [name, value] of this.corsHeaders) headers[name] = value;
    this.outer.onHeaders(ex, status, headers, control);
  }
  onData(ex: Exchange, chunk: Buffer, control: UpstreamControl): void {
    this.outer.onData(ex, chunk, control);
  }
  onEnd(ex: Exchange, trailers?: ResponseHeaders): void {
    this.outer.onEnd(ex, trailers);
  }
  onError(ex: Exchange, failure: UpstreamFailureEvent): void {
    this.outer.onError(ex, failure);
  }
}

function routeRequest(ex: Exchange): RouteRequest {
  return { path: ex.path, query: ex.query, method: ex.method, authority: ex.authority, scheme: ex.scheme, port: ex.port, headers: ex.headers };
}

export function matchRoute(random: () => number): Layer {
  return (next: Dispatch): Dispatch => (ex, handler) => {
    const query = ex.query === '' ? '' : `?${ex.query}`;
    if (ex.routes === undefined) {
      if (ex.defaultDestination === undefined) {
        replyLocally(ex, handler, 404, '', undefined, 'NR');
        return;
      }
      ex.destination = ex.defaultDestination;
      ex.upstreamAuthority = ex.authority;
      ex.upstreamPath = ex.path + query;
      next(ex, handler);
      return;
    }
    const req = routeRequest(ex);
    const entry = matchRoutes(ex.routes, req);
    if (entry === undefined) {
      ex.reason = 'no route matched';
      replyLocally(ex, handler, 404, '', undefined, 'NR');
      return;
    }
    ex.route = entry;
    if (answeredHere(ex, handler, entry, req)) return;
    const rule = entry.rule.route;
    const cors = evaluateCors(entry.rule.cors, ex.method, ex.headers);
    if (cors.kind === 'preflight') {
      replyLocally(ex, handler, 200, '', Object.fromEntries(cors.headers));
      return;
    }
    const dest = pickWeighted(rule.destinations, random);
    if (dest === undefined) {
      replyLocally(ex, handler, 503, 'no healthy upstream', undefined, 'NR');
      return;
    }
    ex.destination = dest;
    ex.upstreamAuthority = rewriteAuthority(entry, dest, ex.authority);
    ex.upstreamPath = rewritePath(entry, ex.path) + query;
    if (rule.headers?.request !== undefined || dest.headers?.request !== undefined) {
      const bag: HeaderBag = dropHopByHop(ex.headers);
      applyHeaderOperations(rule.headers?.request, bag);
      applyHeaderOperations(dest.headers?.request, bag);
      ex.upstreamHeaders = bag;
    }
    const corsHeaders = cors.kind === 'forward' ? cors.responseHeaders : [];
    const wraps = rule.headers?.response !== undefined || dest.headers?.response !== undefined || corsHeaders.length > 0;
    next(ex, wraps ? new RouteResponse(handler, dest, corsHeaders) : handler);
  };
}

/** Redirects and direct responses are the proxy's own answers. */
function answeredHere(ex: Exchange, handler: ResponseHandler, entry: MatchedRoute, req: RouteRequest): boolean {
  const redirect = redirectFor(entry, req, ex.query);
  if (redirect) {
    replyLocally(ex, handler, redirect.status, '', { location: redirect.location });
    return true;
  }
  const direct = entry.rule.route.directResponse;
  if (direct) {
    replyLocally(ex, handler, direct.status, entry.rule.directBody ?? '');
    return true;
  }
  return false;
}
