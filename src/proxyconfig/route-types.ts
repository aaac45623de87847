/**
 * The route part of the ProxyConfig contract: VirtualService HTTP, TCP and TLS routes as the control plane compiles
 * them for one proxy (hosts, short names and exportTo resolved), which the shared route engine (src/route) matches.
 */
import { z } from 'zod';
import { port } from './scalars.js';

/** Regexes are RE2 and match the whole value; `present` matches any value of a header that is there. */
export const stringMatch = z.union([
  z.strictObject({ exact: z.string() }),
  z.strictObject({ prefix: z.string() }),
  z.strictObject({ regex: z.string() }),
  z.strictObject({ present: z.literal(true) }),
]);


export const httpMatch = z.strictObject({
  /** Exact is the whole path, prefix a string prefix; `ignoreUriCase` applies to exact and prefix, never to regex (Envoy). */
  uri: stringMatch.optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  scheme: stringMatch.optional(),
  /** Lower-case names; a repeated header's values are joined with ",". A missing header never matches. */
  headers: z.record(z.string(), stringMatch).optional(),
  /** Inverted: a missing header counts as "" (so it matches), except `present`, which then requires absence. */
  withoutHeaders: z.record(z.string(), stringMatch).optional(),
  /** On the first occurrence of the raw (not decoded) parameter value, as Envoy. */
  queryParams: z.record(z.string(), stringMatch).optional(),
  port: port.optional(),
  ignoreUriCase: z.boolean().optional(),
  /** The match entry's name, for logs and `weft route check`. */
  name: z.string().optional(),
  statPrefix: z.string().optional(),
});

/** Header operations: removals first, then `set` (replace) and `add` (append another value), in that order. */
export const headerOperations = z.strictObject({
  set: z.array(z.tuple([z.string(), z.string()])),
  add: z.array(z.tuple([z.string(), z.string()])),
  remove: z.array(z.string()),
});
export const headerRules = z.strictObject({ request: headerOperations.optional(), response: headerOperations.optional() });

export const routeDestination = z.strictObject({
  host: z.string(),
  port,
  weight: z.number().int().min(0),
  subset: z.string().optional(),
  /** Applied after the route's own operations, so a destination's `set` wins; its authority only when the route sets none. */
  headers: headerRules.optional(),
  /** The authority this destination's headers ask for (Istio: `host`/`:authority` in request set/add). */
  authority: z.string().optional(),
});

export const redirect = z.strictObject({
  /** Replaces the whole path (and the query, when it carries one). */
  uri: z.string().optional(),
  /** Replaces the matched prefix. */
  prefixRewrite: z.string().optional(),
  authority: z.string().optional(),
  /** An explicit port, or `request` for FROM_REQUEST_PORT; absent keeps Envoy's default (FROM_PROTOCOL_DEFAULT). */
  port: z.union([port, z.literal('request')]).optional(),
  scheme: z.enum(['http', 'https']).optional(),
  code: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]),
});

export const retryPolicy = z.strictObject({
  /** Retries after the first try; 0 disables retries. */
  attempts: z.number().int().min(0),
  perTryTimeoutMs: z.number().int().min(0),
  /** Envoy conditions (5xx, gateway-error, connect-failure, ...). */
  retryOn: z.array(z.string()),
  /** Status codes from retryOn; they imply `retriable-status-codes`. */
  retriableStatusCodes: z.array(z.number().int()),
  retryRemoteLocalities: z.boolean(),
  /** Try another host than the ones already tried (Istio's default). */
  retryIgnorePreviousHosts: z.boolean(),
  /** Base interval of Envoy's exponential backoff; 0 means Envoy's default (25ms). */
  backoffMs: z.number().int().min(0),
});

export const faultPolicy = z.strictObject({
  delay: z.strictObject({ fixedDelayMs: z.number().int().min(0), percent: z.number().min(0).max(100) }).optional(),
  abort: z
    .strictObject({ httpStatus: z.number().int().optional(), grpcStatus: z.number().int().optional(), percent: z.number().min(0).max(100) })
    .optional(),
});

export const corsPolicy = z.strictObject({
  allowOrigins: z.array(stringMatch),
  allowMethods: z.array(z.string()),
  allowHeaders: z.array(z.string()),
  exposeHeaders: z.array(z.string()),
  maxAgeSeconds: z.number().int().min(0).optional(),
  allowCredentials: z.boolean().optional(),
  /** What a preflight whose origin is not allowed gets: passed to the upstream, or answered without CORS headers. */
  unmatchedPreflights: z.enum(['FORWARD', 'IGNORE']),
});

export const httpRoute = z.strictObject({
  /** `namespace/name#index` of the VirtualService http[] entry it came from. */
  source: z.string(),
  name: z.string(),
  /** Any one matching is enough; an empty list matches everything. */
  match: z.array(httpMatch),
  /** Weighted split; empty when the route redirects or answers directly. */
  destinations: z.array(routeDestination),
  rewrite: z
    .strictObject({
      uri: z.string().optional(),
      authority: z.string().optional(),
      /** RE2 pattern and Envoy substitution (`\1`), applied to every match in the path. */
      uriRegexRewrite: z.strictObject({ match: z.string(), rewrite: z.string() }).optional(),
    })
    .optional(),
  /** Milliseconds; 0 means none. */
  timeoutMs: z.number().int().min(0),
  redirect: redirect.optional(),
  directResponse: z
    .strictObject({ status: z.number().int().min(200).max(599), body: z.union([z.strictObject({ string: z.string() }), z.strictObject({ base64: z.string() })]).optional() })
    .optional(),
  headers: headerRules.optional(),
  /** Absent: no retries configured at all (the proxy's defaults apply); attempts 0: retries disabled. */
  retries: retryPolicy.optional(),
  fault: faultPolicy.optional(),
  mirrors: z.array(z.strictObject({ host: z.string(), port, subset: z.string().optional(), percent: z.number().min(0).max(100) })).optional(),
  cors: corsPolicy.optional(),
});

/** An opaque TCP or TLS route: first match wins; a TLS route always names SNI hosts. */
export const l4Route = z.strictObject({
  source: z.string(),
  match: z.array(
    z.strictObject({
      /** Lower case; `*.suffix` matches one or more labels more, `*` anything. TLS routes only. */
      sniHosts: z.array(z.string()).optional(),
      /** Addresses and CIDRs the connection was dialled to. */
      destinationSubnets: z.array(z.string()).optional(),
      port: port.optional(),
    }),
  ),
  destinations: z.array(z.strictObject({ host: z.string(), port, weight: z.number().int().min(0), subset: z.string().optional() })).min(1),
});
