/**
 * telemetry.istio.io/v1 Telemetry: which metrics, access logs and traces a workload makes, field by field as Istio's
 * reference defines them. CEL expressions are checked here, at apply: a metric tag may read only attributes whose
 * values config and identities bound (telemetry-expr/cel-attributes.ts); provider names are checked against
 * MeshConfig by the analyzer (analyze/telemetry-providers.ts), which sees both objects.
 */
import { z } from 'zod';
import { expressionProblem } from '../../telemetry-expr/cel-attributes.js';
import { checkWorkloadTarget } from '../../authz/check-policy.js';
import { PolicyTargetReferenceSchema, WorkloadSelectorSchema } from './authorization-policy.js';
import { DurationSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

export const WORKLOAD_MODES = ['CLIENT', 'SERVER', 'CLIENT_AND_SERVER'] as const;
export type WorkloadMode = (typeof WORKLOAD_MODES)[number];

/** Istio's MetricSelector.IstioMetric, ALL_METRICS first. */
export const ISTIO_METRICS = [
  'ALL_METRICS',
  'REQUEST_COUNT',
  'REQUEST_DURATION',
  'REQUEST_SIZE',
  'RESPONSE_SIZE',
  'TCP_OPENED_CONNECTIONS',
  'TCP_CLOSED_CONNECTIONS',
  'TCP_SENT_BYTES',
  'TCP_RECEIVED_BYTES',
  'GRPC_REQUEST_MESSAGES',
  'GRPC_RESPONSE_MESSAGES',
] as const;
export type IstioMetric = (typeof ISTIO_METRICS)[number];

const ProviderRefSchema = z.strictObject({ name: z.string().min(1) });

const CustomTagSchema = z
  .strictObject({
    literal: z.strictObject({ value: z.string() }).optional(),
    environment: z.strictObject({ name: z.string().min(1), defaultValue: z.string().optional() }).optional(),
    header: z.strictObject({ name: z.string().min(1), defaultValue: z.string().optional() }).optional(),
  })
  .refine((t) => Number(t.literal !== undefined) + Number(t.environment !== undefined) + Number(t.header !== undefined) === 1, {
    message: 'a custom tag is exactly one of literal, environment, header',
  });

const TracingSchema = z.strictObject({
  match: z.strictObject({ mode: z.enum(WORKLOAD_MODES).optional() }).optional(),
  providers: z.array(ProviderRefSchema).optional(),
  randomSamplingPercentage: z.number().min(0).max(100).optional(),
  disableSpanReporting: z.boolean().optional(),
  customTags: z.record(z.string().min(1), CustomTagSchema).optional(),
  useRequestIdForTraceSampling: z.boolean().optional(),
});

const TagOverrideSchema = z.strictObject({
  operation: z.enum(['UPSERT', 'REMOVE']).optional(),
  /** A CEL expression; required for UPSERT. */
  value: z.string().optional(),
});

const MetricsOverridesSchema = z.strictObject({
  match: z
    .strictObject({
      metric: z.enum(ISTIO_METRICS).optional(),
      customMetric: z.string().min(1).optional(),
      mode: z.enum(WORKLOAD_MODES).optional(),
    })
    .refine((m) => m.metric === undefined || m.customMetric === undefined, { message: 'only one of metric, customMetric can be set' })
    .optional(),
  disabled: z.boolean().optional(),
  tagOverrides: z.record(z.string().min(1), TagOverrideSchema).optional(),
});

const MetricsSchema = z.strictObject({
  providers: z.array(ProviderRefSchema).optional(),
  overrides: z.array(MetricsOverridesSchema).optional(),
  reportingInterval: DurationSchema.optional(),
});

const AccessLoggingSchema = z.strictObject({
  match: z.strictObject({ mode: z.enum(WORKLOAD_MODES).optional() }).optional(),
  providers: z.array(ProviderRefSchema).optional(),
  disabled: z.boolean().optional(),
  filter: z.strictObject({ expression: z.string().min(1) }).optional(),
});

export const TelemetrySpecSchema = z.strictObject({
  selector: WorkloadSelectorSchema.optional(),
  targetRef: PolicyTargetReferenceSchema.optional(),
  targetRefs: z.array(PolicyTargetReferenceSchema).optional(),
  tracing: z.array(TracingSchema).optional(),
  metrics: z.array(MetricsSchema).optional(),
  accessLogging: z.array(AccessLoggingSchema).optional(),
});

export type TelemetrySpec = z.infer<typeof TelemetrySpecSchema>;
export type TelemetryTracing = z.infer<typeof TracingSchema>;
export type TelemetryMetrics = z.infer<typeof MetricsSchema>;
export type TelemetryMetricsOverride = z.infer<typeof MetricsOverridesSchema>;
export type TelemetryAccessLogging = z.infer<typeof AccessLoggingSchema>;

/** Every provider name a Telemetry names, with where it is written. */
export function providerReferences(spec: TelemetrySpec): { name: string; use: 'tracing' | 'metrics' | 'accessLogging'; path: (string | number)[] }[] {
  const out: { name: string; use: 'tracing' | 'metrics' | 'accessLogging'; path: (string | number)[] }[] = [];
  for (const use of ['tracing', 'metrics', 'accessLogging'] as const) {
    (spec[use] ?? []).forEach((block, i) => (block.providers ?? []).forEach((p, j) => out.push({ name: p.name, use, path: [use, i, 'providers', j, 'name'] })));
  }
  return out;
}

export function checkTelemetry(spec: TelemetrySpec): SpecIssue[] {
  const out: SpecIssue[] = [];
  checkWorkloadTarget(spec, out);
  (spec.metrics ?? []).forEach((m, i) => {
    (m.overrides ?? []).forEach((o, j) => {
      for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
        const at = ['metrics', i, 'overrides', j, 'tagOverrides', tag];
        if ((t.operation ?? 'UPSERT') === 'REMOVE') continue;
        if (t.value === undefined || t.value === '') {
          out.push({ path: [...at, 'value'], message: 'an UPSERT tag override needs a value (a CEL expression)' });
          continue;
        }
        const problem = expressionProblem(t.value, 'tag');
        if (problem) out.push({ path: [...at, 'value'], message: `[${problem.code}] ${problem.message}` });
      }
    });
  });
  (spec.accessLogging ?? []).forEach((l, i) => {
    if (l.filter === undefined) return;
    const problem = expressionProblem(l.filter.expression, 'filter');
    if (problem) out.push({ path: ['accessLogging', i, 'filter', 'expression'], message: `[${problem.code}] ${problem.message}` });
  });
  return out;
}
