/**
 * gateway.networking.k8s.io/v1 HTTPRoute: matches on path, headers, query parameters and method; filters; weighted
 * backends. The CRDs' CEL rules that span fields (a redirect beside backends, ReplacePrefixMatch without a PathPrefix
 * match, a filter type twice) are checked here so they are refused at apply, as the API server refuses them.
 */
import { z } from 'zod';
import { PortNumberSchema } from '../scalars.js';
import type { SpecIssue } from '../spec-issue.js';
import {
  BackendObjectReferenceSchema,
  DurationSchema,
  HeaderModifierSchema,
  HostnameSchema,
  MirrorFilterSchema,
  ParentReferenceSchema,
  RegexValueSchema,
  ValueMatchSchema,
  filterFieldsMatchType,
  servicePortRequired,
  uniqueNames,
} from './shared-fields.js';

const PathModifierSchema = z
  .strictObject({
    type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']),
    replaceFullPath: z.string().max(1024).optional(),
    replacePrefixMatch: z.string().max(1024).optional(),
  })
  .superRefine((p, ctx) => {
    filterFieldsMatchType(p, { ReplaceFullPath: 'replaceFullPath', ReplacePrefixMatch: 'replacePrefixMatch' }, ctx);
    const v = p.replaceFullPath ?? p.replacePrefixMatch;
    if (v !== undefined && v !== '' && !v.startsWith('/')) ctx.addIssue({ code: 'custom', message: 'a path must start with "/"' });
  });

const RedirectSchema = z.strictObject({
  scheme: z.enum(['http', 'https']).optional(),
  hostname: HostnameSchema.refine((h) => !h.startsWith('*'), 'a redirect hostname cannot be a wildcard').optional(),
  path: PathModifierSchema.optional(),
  port: PortNumberSchema.optional(),
  statusCode: z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]).optional(),
});

const RewriteSchema = z.strictObject({
  hostname: HostnameSchema.refine((h) => !h.startsWith('*'), 'a rewrite hostname cannot be a wildcard').optional(),
  path: PathModifierSchema.optional(),
});

const FILTER_FIELDS = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  RequestMirror: 'requestMirror',
  ExtensionRef: 'extensionRef',
};

export const HttpRouteFilterSchema = z
  .strictObject({
    type: z.enum(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite', 'RequestMirror', 'ExtensionRef']),
    requestHeaderModifier: HeaderModifierSchema.optional(),
    responseHeaderModifier: HeaderModifierSchema.optional(),
    requestRedirect: RedirectSchema.optional(),
    urlRewrite: RewriteSchema.optional(),
    requestMirror: MirrorFilterSchema.optional(),
    extensionRef: z.strictObject({ group: z.string(), kind: z.string().min(1), name: z.string().min(1) }).optional(),
  })
  .superRefine((f, ctx) => filterFieldsMatchType(f, FILTER_FIELDS, ctx));
export type HttpRouteFilter = z.infer<typeof HttpRouteFilterSchema>;

const PathMatchSchema = z
  .strictObject({ type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).optional(), value: z.string().max(1024).optional() })
  .superRefine((p, ctx) => {
    const type = p.type ?? 'PathPrefix';
    const v = p.value ?? '/';
    if (type === 'RegularExpression') {
      const r = RegexValueSchema.safeParse(v);
      if (!r.success) ctx.addIssue({ code: 'custom', path: ['value'], message: r.error.issues[0]?.message ?? 'invalid regular expression' });
      return;
    }
    // The CRDs' rules for Exact and PathPrefix values.
    if (!v.startsWith('/')) ctx.addIssue({ code: 'custom', path: ['value'], message: 'value must be an absolute path and start with "/" when type one of ["Exact", "PathPrefix"]' });
    if (v.includes('//')) ctx.addIssue({ code: 'custom', path: ['value'], message: 'must not contain "//" when type one of ["Exact", "PathPrefix"]' });
    if (/\/\.{1,2}(\/|$)/.test(v)) ctx.addIssue({ code: 'custom', path: ['value'], message: 'must not contain "/./" or "/../" segments when type one of ["Exact", "PathPrefix"]' });
    if (/[?#%]/.test(v.replace(/%[0-9A-Fa-f]{2}/g, ''))) ctx.addIssue({ code: 'custom', path: ['value'], message: 'must not contain "?", "#" or a "%" that is not a percent-encoding' });
  });

export const HttpRouteMatchSchema = z
  .strictObject({
    path: PathMatchSchema.optional(),
    headers: z.array(ValueMatchSchema).max(16).optional(),
    queryParams: z.array(ValueMatchSchema).max(16).optional(),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']).optional(),
  })
  .superRefine((m, ctx) => {
    uniqueNames(m.headers, true, ctx, 'headers');
    uniqueNames(m.queryParams, false, ctx, 'queryParams');
  });
export type HttpRouteMatch = z.infer<typeof HttpRouteMatchSchema>;

export const HttpBackendRefSchema = BackendObjectReferenceSchema.extend({
  weight: z.int().min(0).max(1_000_000).optional(),
  filters: z.array(HttpRouteFilterSchema).max(16).optional(),
}).superRefine(servicePortRequired);

export const HttpRouteRuleSchema = z.strictObject({
  name: z.string().min(1).max(253).optional(),
  matches: z.array(HttpRouteMatchSchema).max(64).optional(),
  filters: z.array(HttpRouteFilterSchema).max(16).optional(),
  backendRefs: z.array(HttpBackendRefSchema).max(16).optional(),
  timeouts: z.strictObject({ request: DurationSchema.optional(), backendRequest: DurationSchema.optional() }).optional(),
});
export type HttpRouteRule = z.infer<typeof HttpRouteRuleSchema>;

export const HttpRouteSpecSchema = z.strictObject({
  parentRefs: z.array(ParentReferenceSchema).max(32).optional(),
  hostnames: z.array(HostnameSchema).max(16).optional(),
  rules: z.array(HttpRouteRuleSchema).max(16).optional(),
});
export type HttpRouteSpec = z.infer<typeof HttpRouteSpecSchema>;

/** The CRDs' CEL rules on a list of filters; `path` is where the list sits. */
export function checkFilters(filters: readonly HttpRouteFilter[] | undefined, path: (string | number)[], hasBackends: boolean, prefixOnly: boolean): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seen = new Set<string>();
  (filters ?? []).forEach((f, i) => {
    if (f.type !== 'RequestMirror' && f.type !== 'ExtensionRef' && seen.has(f.type)) issues.push({ path: [...path, i, 'type'], message: `${f.type} filter cannot be repeated` });
    seen.add(f.type);
    const pathMod = f.requestRedirect?.path ?? f.urlRewrite?.path;
    if (pathMod?.type === 'ReplacePrefixMatch' && !prefixOnly) {
      issues.push({ path: [...path, i], message: 'ReplacePrefixMatch requires every match of the rule to be a PathPrefix match' });
    }
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite')) issues.push({ path, message: 'may specify either RequestRedirect or URLRewrite, but not both' });
  if (seen.has('RequestRedirect') && hasBackends) issues.push({ path, message: 'RequestRedirect filter must not be used together with backendRefs' });
  return issues;
}

export function checkHttpRoute(spec: HttpRouteSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  (spec.rules ?? []).forEach((rule, i) => {
    const matches = rule.matches ?? [{}];
    const prefixOnly = matches.every((m) => (m.path?.type ?? 'PathPrefix') === 'PathPrefix');
    issues.push(...checkFilters(rule.filters, ['rules', i, 'filters'], (rule.backendRefs ?? []).length > 0, prefixOnly));
    (rule.backendRefs ?? []).forEach((b, j) => {
      issues.push(...checkFilters(b.filters, ['rules', i, 'backendRefs', j, 'filters'], false, prefixOnly));
      (b.filters ?? []).forEach((f, k) => {
        if (f.type !== 'RequestHeaderModifier' && f.type !== 'ResponseHeaderModifier') issues.push({ path: ['rules', i, 'backendRefs', j, 'filters', k, 'type'], message: `${f.type} is not supported on a backendRef: only RequestHeaderModifier and ResponseHeaderModifier are` });
      });
    });
  });
  issues.push(...checkParentRefs(spec.parentRefs));
  return issues;
}

/** The CRDs' rule: two parentRefs to the same parent must differ by sectionName or port. */
export function checkParentRefs(refs: readonly { group?: string | undefined; kind?: string | undefined; namespace?: string | undefined; name: string; sectionName?: string | undefined; port?: number | undefined }[] | undefined): SpecIssue[] {
  const seen = new Set<string>();
  const issues: SpecIssue[] = [];
  (refs ?? []).forEach((p, i) => {
    const key = JSON.stringify([p.group ?? 'gateway.networking.k8s.io', p.kind ?? 'Gateway', p.namespace ?? '', p.name, p.sectionName ?? '', p.port ?? 0]);
    if (seen.has(key)) issues.push({ path: ['parentRefs', i], message: 'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent' });
    seen.add(key);
  });
  return issues;
}
