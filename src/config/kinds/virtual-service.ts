/** Istio's networking.istio.io/v1 VirtualService spec: how requests for a host are matched and routed. */
import { z } from 'zod';
import {
  DurationSchema,
  PositiveDurationSchema,
  Int32Schema,
  PercentSchema,
  PortNumberSchema,
  PortSelectorSchema,
  StringMapSchema,
  StringMatchSchema,
  UInt32Schema,
  atMostOneOf,
} from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

export const DestinationSchema = z.strictObject({
  host: z.string().min(1, 'destination host is required'),
  subset: z.string().optional(),
  port: PortSelectorSchema.optional(),
});

const HeaderOperationsSchema = z.strictObject({
  set: StringMapSchema.optional(),
  add: StringMapSchema.optional(),
  remove: z.array(z.string()).optional(),
});

export const HeadersSchema = z.strictObject({
  request: HeaderOperationsSchema.optional(),
  response: HeaderOperationsSchema.optional(),
});

const StringMatchMapSchema = z.record(z.string(), StringMatchSchema);

export const HttpMatchRequestSchema = z.strictObject({
  name: z.string().optional(),
  uri: StringMatchSchema.optional(),
  scheme: StringMatchSchema.optional(),
  method: StringMatchSchema.optional(),
  authority: StringMatchSchema.optional(),
  headers: StringMatchMapSchema.optional(),
  port: PortNumberSchema.optional(),
  sourceLabels: StringMapSchema.optional(),
  gateways: z.array(z.string()).optional(),
  queryParams: StringMatchMapSchema.optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: StringMatchMapSchema.optional(),
  sourceNamespace: z.string().optional(),
  statPrefix: z.string().optional(),
});

export const HttpRouteDestinationSchema = z.strictObject({
  destination: DestinationSchema,
  weight: Int32Schema.optional(),
  headers: HeadersSchema.optional(),
});

const HttpRedirectSchema = z
  .strictObject({
    uri: z.string().optional(),
    authority: z.string().optional(),
    port: PortNumberSchema.optional(),
    derivePort: z.enum(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']).optional(),
    scheme: z.string().optional(),
    redirectCode: z.int().min(300).max(399).optional(),
    prefixRewrite: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    const msg = atMostOneOf(r, ['port', 'derivePort']) ?? atMostOneOf(r, ['uri', 'prefixRewrite']);
    if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
  });

const HttpDirectResponseSchema = z.strictObject({
  status: z.int().min(200).max(599),
  body: z
    .strictObject({ string: z.string().optional(), bytes: z.string().optional() })
    .superRefine((b, ctx) => {
      const msg = atMostOneOf(b, ['string', 'bytes']);
      if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
    })
    .optional(),
});

const HttpRewriteSchema = z.strictObject({
  uri: z.string().optional(),
  authority: z.string().optional(),
  uriRegexRewrite: z.strictObject({ match: z.string().optional(), rewrite: z.string().optional() }).optional(),
});

const HttpRetrySchema = z.strictObject({
  attempts: Int32Schema.refine((n) => n >= 0, 'attempts must not be negative').optional(),
  perTryTimeout: PositiveDurationSchema.optional(),
  retryOn: z.string().optional(),
  retryRemoteLocalities: z.boolean().optional(),
  retryIgnorePreviousHosts: z.boolean().optional(),
  backoff: DurationSchema.optional(),
});

const HttpFaultInjectionSchema = z.strictObject({
  delay: z
    .strictObject({
      percent: z.int().min(0).max(100).optional(),
      fixedDelay: DurationSchema.optional(),
      exponentialDelay: DurationSchema.optional(),
      percentage: PercentSchema.optional(),
    })
    .superRefine((d, ctx) => {
      const msg = atMostOneOf(d, ['fixedDelay', 'exponentialDelay']);
      if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
      if (d.fixedDelay === undefined && d.exponentialDelay === undefined) ctx.addIssue({ code: 'custom', message: 'delay needs fixedDelay or exponentialDelay' });
    })
    .optional(),
  abort: z
    .strictObject({
      httpStatus: z.int().min(200).max(599).optional(),
      grpcStatus: z.string().optional(),
      http2Error: z.string().optional(),
      percentage: PercentSchema.optional(),
    })
    .superRefine((a, ctx) => {
      const msg = atMostOneOf(a, ['httpStatus', 'grpcStatus', 'http2Error']);
      if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
      if (a.httpStatus === undefined && a.grpcStatus === undefined && a.http2Error === undefined) {
        ctx.addIssue({ code: 'custom', message: 'abort needs httpStatus, grpcStatus or http2Error' });
      }
    })
    .optional(),
});

const CorsPolicySchema = z.strictObject({
  allowOrigin: z.array(z.string()).optional(),
  allowOrigins: z.array(StringMatchSchema).optional(),
  allowMethods: z.array(z.string()).optional(),
  allowHeaders: z.array(z.string()).optional(),
  exposeHeaders: z.array(z.string()).optional(),
  maxAge: DurationSchema.optional(),
  allowCredentials: z.boolean().optional(),
  unmatchedPreflights: z.enum(['UNSPECIFIED', 'FORWARD', 'IGNORE']).optional(),
});

export const HttpRouteSchema = z.strictObject({
  name: z.string().optional(),
  match: z.array(HttpMatchRequestSchema).optional(),
  route: z.array(HttpRouteDestinationSchema).optional(),
  redirect: HttpRedirectSchema.optional(),
  directResponse: HttpDirectResponseSchema.optional(),
  delegate: z.strictObject({ name: z.string().min(1), namespace: z.string().optional() }).optional(),
  rewrite: HttpRewriteSchema.optional(),
  timeout: DurationSchema.optional(),
  retries: HttpRetrySchema.optional(),
  fault: HttpFaultInjectionSchema.optional(),
  mirror: DestinationSchema.optional(),
  mirrors: z.array(z.strictObject({ destination: DestinationSchema, percentage: PercentSchema.optional() })).optional(),
  mirrorPercent: UInt32Schema.optional(),
  mirrorPercentage: PercentSchema.optional(),
  corsPolicy: CorsPolicySchema.optional(),
  headers: HeadersSchema.optional(),
});

const RouteDestinationSchema = z.strictObject({ destination: DestinationSchema, weight: Int32Schema.optional() });

const L4MatchSchema = z.strictObject({
  destinationSubnets: z.array(z.string()).optional(),
  port: PortNumberSchema.optional(),
  sourceSubnet: z.string().optional(),
  sourceLabels: StringMapSchema.optional(),
  gateways: z.array(z.string()).optional(),
  sourceNamespace: z.string().optional(),
});

const TlsMatchSchema = z.strictObject({
  sniHosts: z.array(z.string()).min(1, 'sniHosts is required'),
  destinationSubnets: z.array(z.string()).optional(),
  port: PortNumberSchema.optional(),
  sourceLabels: StringMapSchema.optional(),
  gateways: z.array(z.string()).optional(),
  sourceNamespace: z.string().optional(),
});

export const TlsRouteSchema = z.strictObject({
  match: z.array(TlsMatchSchema).min(1, 'a tls route needs at least one match'),
  route: z.array(RouteDestinationSchema).optional(),
});

export const TcpRouteSchema = z.strictObject({
  match: z.array(L4MatchSchema).optional(),
  route: z.array(RouteDestinationSchema).optional(),
});

export const VirtualServiceSpecSchema = z.strictObject({
  hosts: z.array(z.string().min(1)).optional(),
  gateways: z.array(z.string()).optional(),
  http: z.array(HttpRouteSchema).optional(),
  tls: z.array(TlsRouteSchema).optional(),
  tcp: z.array(TcpRouteSchema).optional(),
  exportTo: z.array(z.string()).optional(),
});

export type VirtualServiceSpec = z.infer<typeof VirtualServiceSpecSchema>;
export type HttpRoute = z.infer<typeof HttpRouteSchema>;
export type HttpMatchRequest = z.infer<typeof HttpMatchRequestSchema>;
export type HttpRouteDestination = z.infer<typeof HttpRouteDestinationSchema>;
export type Destination = z.infer<typeof DestinationSchema>;
export type TlsRoute = z.infer<typeof TlsRouteSchema>;
export type TcpRoute = z.infer<typeof TcpRouteSchema>;

/** Istio's validation rules that cut across fields of one HTTP route. */
export function checkVirtualService(spec: VirtualServiceSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  (spec.http ?? []).forEach((r, i) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ['http', i, ...rest];
    const actions = ['route', 'redirect', 'directResponse', 'delegate'].filter((k) => r[k as keyof HttpRoute] !== undefined);
    if (actions.length === 0) issues.push({ path: at(), message: 'an http route needs one of route, redirect, directResponse or delegate' });
    if (actions.length > 1) issues.push({ path: at(), message: `route, redirect, directResponse and delegate are exclusive (found ${actions.join(', ')})` });
    if (r.redirect !== undefined && r.rewrite !== undefined) issues.push({ path: at('rewrite'), message: 'rewrite cannot be combined with redirect' });
    if (r.rewrite?.uri !== undefined && r.rewrite.uriRegexRewrite !== undefined) issues.push({ path: at('rewrite'), message: 'only one of uri, uriRegexRewrite may be set' });
    if (r.mirror !== undefined && r.mirrors !== undefined) issues.push({ path: at('mirrors'), message: 'only one of mirror, mirrors may be set' });
    checkWeights(r.route ?? [], at('route'), issues);
  });
  (spec.tcp ?? []).forEach((r, i) => checkWeights(r.route ?? [], ['tcp', i, 'route'], issues));
  (spec.tls ?? []).forEach((r, i) => checkWeights(r.route ?? [], ['tls', i, 'route'], issues));
  return issues;
}

function checkWeights(routes: { weight?: number | undefined }[], path: (string | number)[], issues: SpecIssue[]): void {
  routes.forEach((d, j) => {
    if (d.weight !== undefined && d.weight < 0) issues.push({ path: [...path, j, 'weight'], message: 'weight must not be negative' });
  });
  // Istio normalises weights that do not add up to 100, but a split where every weight is zero sends nowhere.
  if (routes.length > 1 && routes.every((d) => d.weight !== undefined) && routes.every((d) => d.weight === 0)) {
    issues.push({ path, message: 'route weights are all zero' });
  }
}
