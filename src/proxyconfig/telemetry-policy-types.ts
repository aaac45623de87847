/**
 * The telemetry-policy section of a ProxyConfig: what the Telemetry resources in force (root namespace, the proxy's
 * namespace, the one selecting its workload) merged into, for each side of the proxy as Istio's WorkloadMode names
 * it: CLIENT (a sidecar's outbound side, and a gateway) and SERVER (a sidecar's inbound side).
 */
import { z } from 'zod';

/** One tag operation on a metric: removed, or set to a CEL expression's value (bounded attributes only). */
const tagOverride = z.strictObject({ tag: z.string(), remove: z.boolean(), value: z.string().optional() });

/** Istio's metric classes weft emits (REQUEST_COUNT … GRPC_RESPONSE_MESSAGES). */
export const POLICY_METRICS = [
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
export type PolicyMetric = (typeof POLICY_METRICS)[number];

const metricOverride = z.strictObject({ metric: z.enum(POLICY_METRICS), disabled: z.boolean(), tags: z.array(tagOverride) });

const modeMetrics = z.strictObject({
  /** False when no Prometheus provider is in scope, or ALL_METRICS is disabled. */
  enabled: z.boolean(),
  overrides: z.array(metricOverride),
});

const accessLogProvider = z.strictObject({
  provider: z.string(),
  encoding: z.enum(['TEXT', 'JSON']),
  /** Empty: the encoding's default. */
  format: z.string(),
  /** A CEL expression: a line is written only when it is true. */
  filter: z.string().optional(),
});

const customTag = z.strictObject({
  tag: z.string(),
  literal: z.string().optional(),
  environment: z.strictObject({ name: z.string(), defaultValue: z.string() }).optional(),
  header: z.strictObject({ name: z.string(), defaultValue: z.string() }).optional(),
});

const modeTracing = z.strictObject({
  collector: z.strictObject({ host: z.string(), port: z.number().int().min(1).max(65535), path: z.string() }),
  samplingPercent: z.number().min(0).max(100),
  maxTagLength: z.number().int().min(1),
  /** Istio's `disableSpanReporting` inverted: false still joins, samples and propagates the trace. */
  reportSpans: z.boolean(),
  /** Sample by the x-request-id (the same decision at every hop of a request) rather than at random. */
  useRequestIdForSampling: z.boolean(),
  customTags: z.array(customTag),
});

const modePolicy = z.strictObject({
  metrics: modeMetrics,
  /** null: no Telemetry and no `defaultProviders.accessLogging` says anything, MeshConfig's access log applies. */
  accessLog: z.array(accessLogProvider).nullable(),
  /** null: no trace is joined or started on this side. */
  tracing: modeTracing.nullable(),
});

export const TelemetryPolicySchema = z.strictObject({
  /** `namespace/name` of the Telemetry resources merged, most general first. */
  applied: z.array(z.string()),
  /** Telemetry `reportingInterval`: how often the bytes of open TCP connections are added to their counters. */
  reportingIntervalMs: z.number().int().min(1).optional(),
  client: modePolicy,
  server: modePolicy,
});

export type TelemetryPolicy = z.infer<typeof TelemetryPolicySchema>;
export type TelemetryModePolicy = z.infer<typeof modePolicy>;
export type PolicyTracing = z.infer<typeof modeTracing>;
export type PolicyMetricOverride = z.infer<typeof metricOverride>;
export type PolicyAccessLogProvider = z.infer<typeof accessLogProvider>;
export type PolicyCustomTag = z.infer<typeof customTag>;
