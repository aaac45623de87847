/**
 * Istio's networking.istio.io/v1 VirtualService spec: how requests for a host are matched and routed. Field rules
 * follow Istio's validation webhook (pkg/config/validation): what it refuses is refused here at apply, with the
 * field's path, so a config that applies is one every proxy can compile. Rules that span fields live in
 * virtual-service-checks.ts.
 */
import { z } from 'zod';
import { tryParseDuration } from '../duration.js';
import { re2Problem, regexRewriteProblem } from '../../route/re2.js';
import { HTTP_TOKEN, HttpFaultInjectionSchema, HttpRetrySchema, RouteDurationSchema } from './http-route-policies.js';
import { Int32Schema, PercentSchema, PortNumberSchema, PortSelectorSchema, StringMapSchema, UInt32Schema, atMostOneOf } from './scalars.js';

const RegexSchema = z.string().superRefine((s, ctx) => {
  if (s === '') ctx.addIssue({ code: 'custom', message: 'regex string match should not be empty' });
  const problem = s === '' ? undefined : re2Problem(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

function oneOfMatch(m: { exact?: string | undefined; prefix?: string | undefined; regex?: string | undefined }, ctx: z.RefinementCtx): void {
  const msg = atMostOneOf(m, ['exact', 'prefix', 'regex']);
  if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
}

/**
 * StringMatch for the uri: a oneof where an empty prefix is allowed (Envoy's path prefix may be empty) and `{}`
 * matches any path.
 */
const UriMatchSchema = z.strictObject({ exact: z.string().optional(), prefix: z.string().optional(), regex: RegexSchema.optional() }).superRefine(oneOfMatch);

/**
 * StringMatch for scheme, method, authority, headers and query parameters: an empty prefix is refused (Envoy's string
 * matcher needs at least one character); `{}` means "present with any value".
 */
export const StringMatchSchema = z
  .strictObject({ exact: z.string().optional(), prefix: z.string().min(1, 'prefix string match should not be empty').optional(), regex: RegexSchema.optional() })
  .superRefine(oneOfMatch);

/**
 * withoutHeaders also accepts Istio's `regex: "*"`, which is not a regex but a presence test: the rule matches only
 * when the header is absent.
 */
const WithoutHeaderMatchSchema = z
  .strictObject({
    exact: z.string().optional(),
    prefix: z.string().min(1, 'prefix string match should not be empty').optional(),
    regex: z.union([z.literal('*'), RegexSchema]).optional(),
  })
  .superRefine(oneOfMatch);

// RFC 7230 tchar: what Istio accepts as a header name to match on (pseudo-headers aside).
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
const HeaderNameSchema = z.string().refine((n) => PSEUDO_HEADERS.has(n) || HTTP_TOKEN.test(n), 'not a valid header name');

export const DestinationSchema = z.strictObject({
  host: z
    .string()
    .min(1, 'destination host is required')
    .refine((h) => h !== '*', 'invalid destination host *'),
  subset: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'subset name must be a DNS-1123 label')
    .max(63)
    .optional(),
  port: PortSelectorSchema.optional(),
});

// Istio's header value rule: no control characters but tab (so no CR/LF injection), and Envoy's `%` syntax.
// weft writes values literally: `%%` is an escaped `%`, and Envoy's %VARIABLE% substitutions are not supported.
const HeaderValueSchema = z.string().superRefine((v, ctx) => {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      ctx.addIssue({ code: 'custom', message: 'header value must not contain control characters (CR, LF, NUL...)' });
      return;
    }
  }
  if (/%(?!%)/.test(v.replaceAll('%%', ''))) {
    ctx.addIssue({ code: 'custom', message: 'a lone % is not allowed: write %% for a literal %; Envoy %VARIABLE% substitutions are not supported' });
  }
});

const isInternal = (n: string): boolean => n.startsWith(':') || n.toLowerCase() === 'host';
const isAuthority = (n: string): boolean => n.toLowerCase() === ':authority' || n.toLowerCase() === 'host';

/** Request set/add may name the authority (`host` or `:authority`); nothing else may be internal. */
const RequestSetSchema = z.record(
  z.string().min(1, 'header name cannot be empty').refine((n) => !isInternal(n) || isAuthority(n), 'header cannot have ":" prefix'),
  HeaderValueSchema,
);
/** Removals and response operations may name neither `host` nor a pseudo-header. */
const PlainHeaderNameSchema = z
  .string()
  .min(1, 'header name cannot be empty')
  .refine((n) => !isInternal(n), 'cannot remove or set Host or a ":" pseudo-header here');

export const HeadersSchema = z.strictObject({
  request: z.strictObject({ set: RequestSetSchema.optional(), add: RequestSetSchema.optional(), remove: z.array(PlainHeaderNameSchema).optional() }).optional(),
  response: z
    .strictObject({
      set: z.record(PlainHeaderNameSchema, HeaderValueSchema).optional(),
      add: z.record(PlainHeaderNameSchema, HeaderValueSchema).optional(),
      remove: z.array(PlainHeaderNameSchema).optional(),
    })
    .optional(),
});

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const HttpMatchRequestSchema = z.strictObject({
  name: z.string().optional(),
  uri: UriMatchSchema.optional(),
  scheme: StringMatchSchema.optional(),
  method: StringMatchSchema.optional(),
  authority: StringMatchSchema.optional(),
  headers: z.record(HeaderNameSchema, StringMatchSchema).optional(),
  port: PortNumberSchema.optional(),
  sourceLabels: StringMapSchema.optional(),
  gateways: z.array(z.string().min(1)).optional(),
  queryParams: z.record(z.string(), StringMatchSchema).optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: z.record(HeaderNameSchema, WithoutHeaderMatchSchema).optional(),
  sourceNamespace: z.string().regex(DNS1123_LABEL, 'sourceNamespace must be a DNS-1123 label').optional(),
  statPrefix: z.string().optional(),
});

export const HttpRouteDestinationSchema = z.strictObject({
  destination: DestinationSchema,
  weight: Int32Schema.refine((w) => w >= 0, 'weight must not be negative').optional(),
  headers: HeadersSchema.optional(),
});

/** Envoy's redirect response codes; Istio drops a route with any other 3xx, so it is refused here. */
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

const HttpRedirectSchema = z
  .strictObject({
    uri: z.string().optional(),
    authority: z.string().optional(),
    port: PortNumberSchema.optional(),
    derivePort: z.enum(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']).optional(),
    scheme: z.enum(['http', 'https']).optional(),
    redirectCode: z
      .int()
      .refine((c) => c === 0 || REDIRECT_CODES.has(c), 'redirectCode must be one of 301, 302, 303, 307, 308')
      .optional(),
    prefixRewrite: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    const msg = atMostOneOf(r, ['port', 'derivePort']) ?? (r.uri && r.prefixRewrite ? 'redirect may only specify one of uri or prefixRewrite' : undefined);
    if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
    if (!r.uri && !r.prefixRewrite && !r.authority && r.port === undefined && r.derivePort === undefined && !r.scheme) {
      ctx.addIssue({ code: 'custom', message: 'redirect must specify uri, authority, scheme, or port' });
    }
  });

const MAX_DIRECT_BODY = 1024 * 1024;
const HttpDirectResponseSchema = z.strictObject({
  status: z.int().min(200, 'status must be 200-599').max(599, 'status must be 200-599'),
  body: z
    .strictObject({
      string: z.string().max(MAX_DIRECT_BODY, 'direct response bodies must be less than 1MB').optional(),
      // proto bytes in YAML/JSON are base64.
      bytes: z.base64('bytes must be base64').max(Math.ceil(MAX_DIRECT_BODY / 3) * 4, 'direct response bodies must be less than 1MB').optional(),
    })
    .superRefine((b, ctx) => {
      const msg = atMostOneOf(b, ['string', 'bytes']);
      if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
    })
    .optional(),
});

const HttpRewriteSchema = z
  .strictObject({
    uri: z.string().optional(),
    authority: z.string().optional(),
    uriRegexRewrite: z
      .strictObject({ match: z.string().min(1, 'match is required'), rewrite: z.string().min(1, 'rewrite is required') })
      .superRefine((r, ctx) => {
        const problem = regexRewriteProblem(r.match, r.rewrite);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.uri && r.uriRegexRewrite) ctx.addIssue({ code: 'custom', message: 'rewrite may only contain one of uri or uriRegexRewrite' });
    if (!r.uri && !r.uriRegexRewrite && !r.authority) ctx.addIssue({ code: 'custom', message: 'rewrite must specify at least one of uri, uriRegexRewrite, or authority' });
  });

const CORS_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', '*']);
const CorsHeaderNameSchema = z.string().refine((n) => n === '*' || HTTP_TOKEN.test(n), 'not a valid header name');

export const CorsPolicySchema = z.strictObject({
  allowOrigin: z.array(z.string()).optional(),
  allowOrigins: z
    .array(
      UriMatchSchema.refine((m) => (m.exact ?? m.prefix ?? m.regex ?? '') !== '', 'an origin match needs a non-empty exact, prefix or regex'),
    )
    .optional(),
  allowMethods: z.array(z.string().refine((m) => CORS_METHODS.has(m), 'not a supported HTTP method')).optional(),
  allowHeaders: z.array(CorsHeaderNameSchema).optional(),
  exposeHeaders: z.array(CorsHeaderNameSchema).optional(),
  maxAge: RouteDurationSchema.refine((s) => (tryParseDuration(s) ?? 0) % 1000 === 0, 'maxAge is accurate only to seconds precision').optional(),
  allowCredentials: z.boolean().optional(),
  unmatchedPreflights: z.enum(['UNSPECIFIED', 'FORWARD', 'IGNORE']).optional(),
});

export const HttpRouteSchema = z.strictObject({
  name: z.string().optional(),
  match: z.array(HttpMatchRequestSchema).optional(),
  route: z.array(HttpRouteDestinationSchema).optional(),
  redirect: HttpRedirectSchema.optional(),
  directResponse: HttpDirectResponseSchema.optional(),
  delegate: z.strictObject({ name: z.string().min(1, 'delegate name is required'), namespace: z.string().optional() }).optional(),
  rewrite: HttpRewriteSchema.optional(),
  timeout: RouteDurationSchema.optional(),
  retries: HttpRetrySchema.optional(),
  fault: HttpFaultInjectionSchema.optional(),
  mirror: DestinationSchema.optional(),
  mirrors: z.array(z.strictObject({ destination: DestinationSchema, percentage: PercentSchema.optional() })).optional(),
  mirrorPercent: UInt32Schema.max(100, 'mirrorPercent must have a max value of 100').optional(),
  mirrorPercentage: PercentSchema.optional(),
  corsPolicy: CorsPolicySchema.optional(),
  headers: HeadersSchema.optional(),
});

const RouteDestinationSchema = z.strictObject({
  destination: DestinationSchema,
  weight: Int32Schema.refine((w) => w >= 0, 'weight must not be negative').optional(),
});

const L4MatchSchema = z.strictObject({
  destinationSubnets: z.array(z.string()).optional(),
  port: PortNumberSchema.optional(),
  sourceSubnet: z.string().optional(),
  sourceLabels: StringMapSchema.optional(),
  gateways: z.array(z.string().min(1)).optional(),
  sourceNamespace: z.string().optional(),
});

const TlsMatchSchema = z.strictObject({
  sniHosts: z.array(z.string().min(1)).min(1, 'TLS match must have at least one SNI host'),
  destinationSubnets: z.array(z.string()).optional(),
  port: PortNumberSchema.optional(),
  sourceLabels: StringMapSchema.optional(),
  gateways: z.array(z.string().min(1)).optional(),
  sourceNamespace: z.string().optional(),
});

export const TlsRouteSchema = z.strictObject({
  match: z.array(TlsMatchSchema).min(1, 'TLS route must have at least one match condition'),
  route: z.array(RouteDestinationSchema).min(1, 'TLS route is required'),
});

export const TcpRouteSchema = z.strictObject({
  match: z.array(L4MatchSchema).optional(),
  route: z.array(RouteDestinationSchema).min(1, 'TCP route is required'),
});

export const VirtualServiceSpecSchema = z.strictObject({
  hosts: z.array(z.string().min(1)).optional(),
  gateways: z.array(z.string().min(1)).optional(),
  http: z.array(HttpRouteSchema).optional(),
  tls: z.array(TlsRouteSchema).optional(),
  tcp: z.array(TcpRouteSchema).optional(),
  exportTo: z.array(z.string().min(1)).optional(),
});

export type VirtualServiceSpec = z.infer<typeof VirtualServiceSpecSchema>;
export type HttpRoute = z.infer<typeof HttpRouteSchema>;
export type HttpMatchRequest = z.infer<typeof HttpMatchRequestSchema>;
export type HttpRouteDestination = z.infer<typeof HttpRouteDestinationSchema>;
export type Destination = z.infer<typeof DestinationSchema>;
export type Headers = z.infer<typeof HeadersSchema>;
export type TlsRoute = z.infer<typeof TlsRouteSchema>;
export type TcpRoute = z.infer<typeof TcpRouteSchema>;
export type VsStringMatch = z.infer<typeof UriMatchSchema>;
