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
  defaultProviders: z.strictObject({ tracing: z.array(z.string()).optional() }).optional(),
};

export interface MeshTelemetrySettings {
  accessLog: { encoding: 'TEXT' | 'JSON'; format: string };
  tracing: { enabled: boolean; providers: string[]; sampling: number };
}

/** Istio's default sampling when `defaultConfig.tracing.sampling` is unset: 1%. */
export const DEFAULT_SAMPLING_PERCENT = 1;

export function meshTelemetrySettings(s: {
  accessLogEncoding: 'TEXT' | 'JSON';
  accessLogFormat: string;
  enableTracing: boolean;
  defaultProviders?: { tracing?: string[] | undefined } | undefined;
  defaultConfig?: { tracing?: { sampling?: number | undefined } | undefined } | undefined;
}): MeshTelemetrySettings {
  return {
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
