/**
 * The telemetry part of MeshConfig, with Istio's names: access-log encoding and format, and tracing (an
 * OpenTelemetry extension provider chosen by `defaultProviders.tracing`, sampling by `defaultConfig.tracing.sampling`
 * unless a mesh-wide Telemetry resource says otherwise). Checked at apply with the engines the proxies run.
 */
import { z } from 'zod';
import { compileFormat, compileJsonFormat } from '../../access-log/envoy-format.js';
import { isWeftError } from '../../errors.js';
import { PortNumberSchema } from './scalars.js';
import type { SpecIssue } from './spec-issue.js';

export const OpenTelemetryProviderSchema = z.strictObject({
  /** The collector's host: a mesh service FQDN or short name, or an address. */
  service: z.string().min(1),
  port: PortNumberSchema,
  /** weft exports OTLP over HTTP (protobuf); Istio's `http` block names the path. */
  http: z.strictObject({ path: z.string().optional(), timeout: z.string().optional() }).optional(),
  /** Istio's `maxTagLength`: the longest span attribute value kept. */
  maxTagLength: z.number().int().min(1).optional(),
});

/** Istio's `prometheus` provider: the proxy's own `/stats/prometheus` endpoint; it has no settings. */
export const PrometheusProviderSchema = z.strictObject({});

/**
 * Istio's `envoyFileAccessLog`: weft's proxies write their access log to their standard output, so `path` may only
 * be `/dev/stdout` (Istio's default); `logFormat` is Envoy text (`text`) or JSON keys to operators (`labels`).
 */
export const EnvoyFileAccessLogProviderSchema = z.strictObject({
  path: z.literal('/dev/stdout', { message: 'weft writes access logs to the proxy\'s standard output: path may only be /dev/stdout' }).optional(),
  logFormat: z
    .strictObject({ text: z.string().optional(), labels: z.record(z.string(), z.string()).optional() })
    .refine((f) => f.text === undefined || f.labels === undefined, { message: 'only one of text, labels can be set' })
    .optional(),
});

export const TracingDefaultsSchema = z.strictObject({
  /** Istio's `defaultConfig.tracing.sampling`: the percentage of requests that start a sampled trace (default 1). */
  sampling: z.number().min(0).max(100).optional(),
  maxPathTagLength: z.number().int().min(1).optional(),
});

export const MeshTelemetryFields = {
  /** Istio's default is TEXT; weft's is JSON, one object per line (docs/telemetry.md). */
  accessLogEncoding: z.enum(['TEXT', 'JSON']).default('JSON'),
  /** Envoy command operators (TEXT) or a JSON object of keys to operators (JSON); empty: the encoding's default. */
  accessLogFormat: z.string().default(''),
  /** Istio's `enableTracing`: false turns every proxy's tracing off. */
  enableTracing: z.boolean().default(true),
  /** Istio's `defaultProviders`: the extension providers used when no Telemetry resource names one. */
  defaultProviders: z
    .strictObject({ tracing: z.array(z.string()).optional(), metrics: z.array(z.string()).optional(), accessLogging: z.array(z.string()).optional() })
    .optional(),
};

/** Istio's built-in providers, there without being declared: Prometheus metrics and the proxy's stdout access log. */
export const BUILTIN_PROVIDERS: Readonly<Record<string, TelemetryProviderKind>> = { prometheus: 'prometheus', envoy: 'envoyFileAccessLog' };

export type TelemetryProviderKind = 'prometheus' | 'envoyFileAccessLog' | 'opentelemetry';

/** What a Telemetry provider name resolves to: its kind, and an access-log provider's line format. */
export interface TelemetryProviderSettings {
  name: string;
  kind: TelemetryProviderKind;
  /** envoyFileAccessLog with a logFormat: the encoding and format its lines are written in. */
  accessLogFormat?: { encoding: 'TEXT' | 'JSON'; format: string };
}

type ProviderInput = {
  name: string;
  opentelemetry?: unknown;
  prometheus?: unknown;
  envoyFileAccessLog?: { logFormat?: { text?: string | undefined; labels?: Record<string, string> | undefined } | undefined } | undefined;
};

/** Every provider a Telemetry can name, the built-ins first (a declared one of the same name replaces it). */
export function telemetryProviders(extensionProviders: readonly ProviderInput[]): TelemetryProviderSettings[] {
  const out = new Map<string, TelemetryProviderSettings>(Object.entries(BUILTIN_PROVIDERS).map(([name, kind]) => [name, { name, kind }]));
  for (const p of extensionProviders) {
    if (p.prometheus !== undefined) out.set(p.name, { name: p.name, kind: 'prometheus' });
    else if (p.opentelemetry !== undefined) out.set(p.name, { name: p.name, kind: 'opentelemetry' });
    else if (p.envoyFileAccessLog !== undefined) {
      const f = p.envoyFileAccessLog.logFormat;
      const settings: TelemetryProviderSettings = { name: p.name, kind: 'envoyFileAccessLog' };
      if (f?.text !== undefined) settings.accessLogFormat = { encoding: 'TEXT', format: f.text };
      else if (f?.labels !== undefined) settings.accessLogFormat = { encoding: 'JSON', format: JSON.stringify(f.labels) };
      out.set(p.name, settings);
    }
  }
  return [...out.values()];
}

/** Which provider kind each Telemetry section (and `defaultProviders` list) takes. */
export const PROVIDER_KIND_OF_USE = { tracing: 'opentelemetry', metrics: 'prometheus', accessLogging: 'envoyFileAccessLog' } as const;

/** `defaultProviders` naming a provider that does not exist or is of the wrong kind; access-log formats that do not compile. */
export function checkTelemetryProviders(spec: { extensionProviders: readonly ProviderInput[]; defaultProviders?: Partial<Record<'tracing' | 'metrics' | 'accessLogging', string[] | undefined>> | undefined }): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const known = telemetryProviders(spec.extensionProviders);
  for (const use of ['tracing', 'metrics', 'accessLogging'] as const) {
    for (const [i, name] of (spec.defaultProviders?.[use] ?? []).entries()) {
      const kind = PROVIDER_KIND_OF_USE[use];
      if (!known.some((p) => p.name === name && p.kind === kind)) issues.push({ path: ['defaultProviders', use, i], message: `no ${kind} extension provider named "${name}"` });
    }
  }
  spec.extensionProviders.forEach((p, i) => {
    const f = known.find((k) => k.name === p.name)?.accessLogFormat;
    if (p.envoyFileAccessLog === undefined || f === undefined) return;
    for (const issue of checkAccessLogFormat(f.encoding, f.format)) issues.push({ path: ['extensionProviders', i, 'envoyFileAccessLog', 'logFormat'], message: issue.message });
  });
  return issues;
}

export interface MeshTelemetrySettings {
  accessLog: { encoding: 'TEXT' | 'JSON'; format: string };
  tracing: { enabled: boolean; providers: string[]; sampling: number };
  /** Every provider a Telemetry may name (built-ins included), and `defaultProviders.metrics` / `.accessLogging`. */
  telemetryProviders: TelemetryProviderSettings[];
  /** Istio installs with `defaultProviders.metrics: [prometheus]`; weft's default is the same. */
  defaultMetricsProviders: string[];
  defaultAccessLogProviders: string[];
}

/** Istio's default sampling when `defaultConfig.tracing.sampling` is unset: 1%. */
export const DEFAULT_SAMPLING_PERCENT = 1;

export function meshTelemetrySettings(s: {
  accessLogEncoding: 'TEXT' | 'JSON';
  accessLogFormat: string;
  enableTracing: boolean;
  defaultProviders?: { tracing?: string[] | undefined; metrics?: string[] | undefined; accessLogging?: string[] | undefined } | undefined;
  defaultConfig?: { tracing?: { sampling?: number | undefined } | undefined } | undefined;
  extensionProviders: readonly ProviderInput[];
}): MeshTelemetrySettings {
  return {
    telemetryProviders: telemetryProviders(s.extensionProviders),
    defaultMetricsProviders: [...(s.defaultProviders?.metrics ?? ['prometheus'])],
    defaultAccessLogProviders: [...(s.defaultProviders?.accessLogging ?? [])],
    accessLog: { encoding: s.accessLogEncoding, format: s.accessLogFormat },
    tracing: { enabled: s.enableTracing, providers: [...(s.defaultProviders?.tracing ?? [])], sampling: s.defaultConfig?.tracing?.sampling ?? DEFAULT_SAMPLING_PERCENT },
  };
}

/** An unsupported operator or a JSON format that is not an object, found at apply rather than by every proxy. */
export function checkAccessLogFormat(encoding: 'TEXT' | 'JSON', format: string): SpecIssue[] {
  if (format === '') return [];
  try {
    if (encoding === 'JSON') compileJsonFormat(format);
    else compileFormat(format);
    return [];
  } catch (err) {
    if (isWeftError(err)) return [{ path: ['accessLogFormat'], message: err.message }];
    throw err;
  }
}
