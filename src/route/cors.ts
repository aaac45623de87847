/**
 * Istio's corsPolicy as Envoy's CORS filter applies it. A request without Origin is not a CORS request. A preflight
 * (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin is answered 200 by the proxy with
 * allow-origin (the request's Origin echoed), allow-credentials, allow-methods, allow-headers and max-age; from any
 * other origin it is forwarded upstream (FORWARD, the default) or answered 200 without CORS headers (IGNORE). Any
 * other request from an allowed origin is forwarded and its response gains allow-origin, allow-credentials and
 * expose-headers. An origin is allowed when a matcher matches it, or matches the literal "*" (Envoy's rule).
 */
import type { CorsPolicy } from '../proxyconfig/types.js';
import { compileStringMatch } from './string-match.js';
import type { StringMatcher } from './string-match.js';
import type { HeaderBag } from './header-operations.js';

export interface CompiledCors {
  readonly policy: CorsPolicy;
  readonly origins: readonly StringMatcher[];
  /** Preflight answer headers other than allow-origin, built once. */
  readonly preflightHeaders: ReadonlyArray<readonly [string, string]>;
  readonly responseHeaders: ReadonlyArray<readonly [string, string]>;
}

export type CorsDecision =
  | { readonly kind: 'not-cors' }
  /** Answer now with status 200 and these headers; nothing goes upstream. */
  | { readonly kind: 'preflight'; readonly headers: ReadonlyArray<readonly [string, string]> }
  /** Forward; add these headers to the response (none when the origin is not allowed). */
  | { readonly kind: 'forward'; readonly responseHeaders: ReadonlyArray<readonly [string, string]> };

const NOT_CORS: CorsDecision = Object.freeze({ kind: 'not-cors' });
const FORWARD_PLAIN: CorsDecision = Object.freeze({ kind: 'forward', responseHeaders: [] });
const IGNORED_PREFLIGHT: CorsDecision = Object.freeze({ kind: 'preflight', headers: [] });

export function compileCors(policy: CorsPolicy): CompiledCors {
  const preflight: Array<[string, string]> = [];
  const response: Array<[string, string]> = [];
  if (policy.allowCredentials === true) {
    preflight.push(['access-control-allow-credentials', 'true']);
    response.push(['access-control-allow-credentials', 'true']);
  }
  if (policy.allowMethods.length > 0) preflight.push(['access-control-allow-methods', policy.allowMethods.join(',')]);
  if (policy.allowHeaders.length > 0) preflight.push(['access-control-allow-headers', policy.allowHeaders.join(',')]);
  if (policy.maxAgeSeconds !== undefined) preflight.push(['access-control-max-age', String(policy.maxAgeSeconds)]);
  if (policy.exposeHeaders.length > 0) response.push(['access-control-expose-headers', policy.exposeHeaders.join(',')]);
  return { policy, origins: policy.allowOrigins.map((m) => compileStringMatch(m)), preflightHeaders: preflight, responseHeaders: response };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function originAllowed(cors: CompiledCors, origin: string): boolean {
  for (const m of cors.origins) if (m.test('*') || m.test(origin)) return true;
  return false;
}

export function evaluateCors(cors: CompiledCors | undefined, method: string, headers: Readonly<HeaderBag>): CorsDecision {
  const origin = single(headers['origin']);
  if (!cors || origin === undefined || origin === '') return NOT_CORS;
  const allowed = originAllowed(cors, origin);
  const requestMethod = single(headers['access-control-request-method']);
  if (method === 'OPTIONS' && requestMethod !== undefined && requestMethod !== '') {
    if (!allowed) return cors.policy.unmatchedPreflights === 'IGNORE' ? IGNORED_PREFLIGHT : FORWARD_PLAIN;
    return { kind: 'preflight', headers: [['access-control-allow-origin', origin], ...cors.preflightHeaders] };
  }
  if (!allowed) return FORWARD_PLAIN;
  return { kind: 'forward', responseHeaders: [['access-control-allow-origin', origin], ...cors.responseHeaders] };
}
