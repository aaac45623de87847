/**
 * Field shapes the Gateway API kinds share (gateway.networking.k8s.io: ParentReference, BackendRef, hostnames,
 * header and query matches, header modifiers, mirror), with the limits and patterns of the Gateway API CRDs, so a
 * document the Kubernetes API server would refuse is refused here with its field path.
 */
import { z } from 'zod';
import { re2Problem } from '../../../route/re2.js';
import { PortNumberSchema } from '../scalars.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The CRDs' Hostname pattern: a DNS name, optionally with one leading `*.` label, no IP address, no port. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export const ObjectNameSchema = z.string().min(1, 'name is required').max(253);
export const NamespaceSchema = z.string().max(63).regex(DNS1123_LABEL, 'namespace must be a DNS-1123 label');
export const SectionNameSchema = z.string().min(1).max(253).regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'sectionName must be a DNS-1123 subdomain');
export const GroupSchema = z.string().max(253).regex(/^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'group must be empty or a DNS subdomain');
export const KindNameSchema = z.string().min(1).max(63).regex(/^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/, 'kind must be a CamelCase name');

export const HostnameSchema = z
  .string()
  .min(1)
  .max(253)
  .refine((h) => HOSTNAME.test(h), 'hostname must be a lowercase DNS name, optionally starting with "*."')
  .refine((h) => !IPV4.test(h), 'hostname must not be an IP address');

export const ParentReferenceSchema = z.strictObject({
  group: GroupSchema.optional(),
  kind: KindNameSchema.optional(),
  namespace: NamespaceSchema.optional(),
  name: ObjectNameSchema,
  sectionName: SectionNameSchema.optional(),
  port: PortNumberSchema.optional(),
});
export type ParentReference = z.infer<typeof ParentReferenceSchema>;

export const BackendObjectReferenceSchema = z.strictObject({
  group: GroupSchema.optional(),
  kind: KindNameSchema.optional(),
  name: ObjectNameSchema,
  namespace: NamespaceSchema.optional(),
  port: PortNumberSchema.optional(),
});
export type BackendObjectReference = z.infer<typeof BackendObjectReferenceSchema>;

/** The CRDs' rule: a reference to a core Service must name its port. */
export function servicePortRequired(ref: { group?: string | undefined; kind?: string | undefined; port?: number | undefined }, ctx: z.RefinementCtx): void {
  if ((ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service' && ref.port === undefined) {
    ctx.addIssue({ code: 'custom', path: ['port'], message: 'port is required when the backend is a Service' });
  }
}

export const RegexValueSchema = z.string().superRefine((s, ctx) => {
  const problem = s === '' ? 'a regular expression must not be empty' : re2Problem(s);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

export const HeaderNameSchema = z.string().min(1).max(256).regex(HEADER_NAME, 'not a valid HTTP header name');

/** HTTPHeaderMatch and HTTPQueryParamMatch: Exact (the default) or RegularExpression on the value. */
export const ValueMatchSchema = z
  .strictObject({
    type: z.enum(['Exact', 'RegularExpression']).optional(),
    name: HeaderNameSchema,
    value: z.string().min(1).max(4096),
  })
  .superRefine((m, ctx) => {
    if (m.type === 'RegularExpression') {
      const problem = re2Problem(m.value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
    }
  });
export type ValueMatch = z.infer<typeof ValueMatchSchema>;

/** Names must be unique in a list of header (case-insensitive) or query (case-sensitive) matches. */
export function uniqueNames(list: readonly { name: string }[] | undefined, fold: boolean, ctx: z.RefinementCtx, field: string): void {
  const seen = new Set<string>();
  (list ?? []).forEach((m, i) => {
    const n = fold ? m.name.toLowerCase() : m.name;
    if (seen.has(n)) ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate ${field} name "${m.name}"` });
    seen.add(n);
  });
}

const HeaderValueSchema = z.string().max(4096).refine((v) => !/[\r\n\0]/.test(v), 'header value must not contain CR, LF or NUL');
const HttpHeaderSchema = z.strictObject({ name: HeaderNameSchema, value: HeaderValueSchema });

export const HeaderModifierSchema = z
  .strictObject({
    set: z.array(HttpHeaderSchema).max(16).optional(),
    add: z.array(HttpHeaderSchema).max(16).optional(),
    remove: z.array(HeaderNameSchema).max(16).optional(),
  })
  .superRefine((h, ctx) => {
    uniqueNames(h.set, true, ctx, 'set');
    uniqueNames(h.add, true, ctx, 'add');
    uniqueNames((h.remove ?? []).map((name) => ({ name })), true, ctx, 'remove');
  });
export type HeaderModifier = z.infer<typeof HeaderModifierSchema>;

export const MirrorFilterSchema = z
  .strictObject({
    backendRef: BackendObjectReferenceSchema.superRefine(servicePortRequired),
    percent: z.int().min(0).max(100).optional(),
    fraction: z.strictObject({ numerator: z.int().min(0), denominator: z.int().min(1).optional() }).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.percent !== undefined && m.fraction !== undefined) ctx.addIssue({ code: 'custom', message: 'only one of percent or fraction may be set' });
    if (m.fraction && m.fraction.numerator > (m.fraction.denominator ?? 100)) ctx.addIssue({ code: 'custom', path: ['fraction'], message: 'numerator must be less than or equal to denominator' });
  });
export type MirrorFilter = z.infer<typeof MirrorFilterSchema>;

export const DurationSchema = z.string().regex(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/, 'duration must be a Gateway API duration such as "10s", "1m30s" or "500ms"');

/** One filter type per entry: the field named after the type must be set, and no other. */
export function filterFieldsMatchType(f: Record<string, unknown> & { type: string }, fields: Record<string, string>, ctx: z.RefinementCtx): void {
  for (const [type, field] of Object.entries(fields)) {
    const set = f[field] !== undefined;
    if (f.type === type && !set) ctx.addIssue({ code: 'custom', path: [field], message: `filter.${field} must be specified for type ${type}` });
    if (f.type !== type && set) ctx.addIssue({ code: 'custom', path: [field], message: `filter.${field} must be nil if the filter type is not ${type}` });
  }
}
