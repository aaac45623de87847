/**
 * gateway.networking.k8s.io/v1 GRPCRoute (gRPC service and method matching, header matches, header and mirror
 * filters) and v1alpha2 TLSRoute and TCPRoute (hostnames and backends only), as the CRDs define them.
 */
import { z } from 'zod';
import type { SpecIssue } from '../spec-issue.js';
import {
  BackendObjectReferenceSchema,
  HeaderModifierSchema,
  HostnameSchema,
  MirrorFilterSchema,
  ParentReferenceSchema,
  ValueMatchSchema,
  filterFieldsMatchType,
  servicePortRequired,
  uniqueNames,
} from './shared-fields.js';
import { re2Problem } from '../../../route/re2.js';
import { checkParentRefs } from './http-route.js';

const GrpcMethodMatchSchema = z
  .strictObject({
    type: z.enum(['Exact', 'RegularExpression']).optional(),
    service: z.string().min(1).max(1024).optional(),
    method: z.string().min(1).max(1024).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.service === undefined && m.method === undefined) ctx.addIssue({ code: 'custom', message: 'one or both of service or method must be specified' });
    if ((m.type ?? 'Exact') === 'Exact') {
      if (m.service !== undefined && !/^[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/.test(m.service)) ctx.addIssue({ code: 'custom', path: ['service'], message: 'service must be a valid Protocol Buffers qualified name' });
      if (m.method !== undefined && !/^[A-Za-z_][A-Za-z_0-9]*$/.test(m.method)) ctx.addIssue({ code: 'custom', path: ['method'], message: 'method must be a valid Protocol Buffers identifier' });
    } else {
      for (const f of ['service', 'method'] as const) {
        const v = m[f];
        const problem = v === undefined ? undefined : re2Problem(v);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [f], message: problem });
      }
    }
  });

const GrpcFilterSchema = z
  .strictObject({
    type: z.enum(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef']),
    requestHeaderModifier: HeaderModifierSchema.optional(),
    responseHeaderModifier: HeaderModifierSchema.optional(),
    requestMirror: MirrorFilterSchema.optional(),
    extensionRef: z.strictObject({ group: z.string(), kind: z.string().min(1), name: z.string().min(1) }).optional(),
  })
  .superRefine((f, ctx) =>
    filterFieldsMatchType(f, { RequestHeaderModifier: 'requestHeaderModifier', ResponseHeaderModifier: 'responseHeaderModifier', RequestMirror: 'requestMirror', ExtensionRef: 'extensionRef' }, ctx),
  );
export type GrpcRouteFilter = z.infer<typeof GrpcFilterSchema>;

const GrpcMatchSchema = z
  .strictObject({ method: GrpcMethodMatchSchema.optional(), headers: z.array(ValueMatchSchema).max(16).optional() })
  .superRefine((m, ctx) => uniqueNames(m.headers, true, ctx, 'headers'));
export type GrpcRouteMatch = z.infer<typeof GrpcMatchSchema>;

const GrpcBackendRefSchema = BackendObjectReferenceSchema.extend({
  weight: z.int().min(0).max(1_000_000).optional(),
  filters: z.array(GrpcFilterSchema).max(16).optional(),
}).superRefine(servicePortRequired);

export const GrpcRouteSpecSchema = z.strictObject({
  parentRefs: z.array(ParentReferenceSchema).max(32).optional(),
  hostnames: z.array(HostnameSchema).max(16).optional(),
  rules: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(253).optional(),
        matches: z.array(GrpcMatchSchema).max(64).optional(),
        filters: z.array(GrpcFilterSchema).max(16).optional(),
        backendRefs: z.array(GrpcBackendRefSchema).max(16).optional(),
      }),
    )
    .max(16)
    .optional(),
});
export type GrpcRouteSpec = z.infer<typeof GrpcRouteSpecSchema>;

export function checkGrpcRoute(spec: GrpcRouteSpec): SpecIssue[] {
  const issues = checkParentRefs(spec.parentRefs);
  (spec.rules ?? []).forEach((rule, i) =>
    (rule.backendRefs ?? []).forEach((b, j) =>
      (b.filters ?? []).forEach((f, k) => {
        if (f.type !== 'RequestHeaderModifier' && f.type !== 'ResponseHeaderModifier') issues.push({ path: ['rules', i, 'backendRefs', j, 'filters', k, 'type'], message: `${f.type} is not supported on a backendRef: only RequestHeaderModifier and ResponseHeaderModifier are` });
      }),
    ),
  );
  return issues;
}

const L4BackendRefSchema = BackendObjectReferenceSchema.extend({ weight: z.int().min(0).max(1_000_000).optional() }).superRefine(servicePortRequired);
const L4RuleSchema = z.strictObject({ name: z.string().min(1).max(253).optional(), backendRefs: z.array(L4BackendRefSchema).min(1, 'a rule needs at least one backendRef').max(16) });

export const TlsRouteSpecSchema = z.strictObject({
  parentRefs: z.array(ParentReferenceSchema).max(32).optional(),
  hostnames: z.array(HostnameSchema).max(16).optional(),
  rules: z.array(L4RuleSchema).min(1).max(16),
});
export type TlsRouteSpec = z.infer<typeof TlsRouteSpecSchema>;

export const TcpRouteSpecSchema = z.strictObject({
  parentRefs: z.array(ParentReferenceSchema).max(32).optional(),
  rules: z.array(L4RuleSchema).min(1).max(16),
});
export type TcpRouteSpec = z.infer<typeof TcpRouteSpecSchema>;

export function checkL4Route(spec: { parentRefs?: TcpRouteSpec['parentRefs'] }): SpecIssue[] {
  return checkParentRefs(spec.parentRefs);
}
