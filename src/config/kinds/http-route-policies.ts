/**
 * The per-route policies of an Istio VirtualService HTTP route: timeouts, retries and fault injection, with
 * Istio's validation (pkg/config/validation) so that what applies is what every proxy can compile.
 */
import { z } from 'zod';
import { tryParseDuration } from '../duration.js';
import { Int32Schema, atMostOneOf } from './scalars.js';

/** RFC 9110 token characters: what a header name may contain. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;

/** An Istio duration on an HTTP route: at least 1ms and whole milliseconds (agent.ValidateDuration). */
export const RouteDurationSchema = z.string().superRefine((s, ctx) => {
  const ms = tryParseDuration(s);
  if (ms === undefined) ctx.addIssue({ code: 'custom', message: 'invalid duration: expected e.g. "10s", "1.5h", "1h30m", "100ms"' });
  else if (ms < 1) ctx.addIssue({ code: 'custom', message: 'duration must be at least 1ms' });
  else if (!Number.isInteger(ms)) ctx.addIssue({ code: 'custom', message: 'only durations to ms precision are supported' });
});

/** Istio's Percent for faults: 0, or 0.0001 to 100 (validatePercentage). */
const FaultPercentSchema = z.strictObject({
  value: z.number().refine((v) => v === 0 || (v >= 0.0001 && v <= 100), 'percentage must be 0 or in [0.0001, 100]'),
});

/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions that Istio accepts. */
export const RETRY_ON_CONDITIONS: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

/** Status codes Go's net/http names: Istio accepts these (and only these) as numbers in retryOn. */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404, 405, 406,
  407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506,
  507, 508, 510, 511,
]);

/** True for a retryOn entry Istio accepts: a condition or a status code. */
export function isRetryOnEntry(entry: string): boolean {
  return RETRY_ON_CONDITIONS.has(entry) || (/^\d{3}$/.test(entry) && KNOWN_STATUS.has(Number(entry)));
}

export const HttpRetrySchema = z
  .strictObject({
    attempts: Int32Schema.refine((n) => n >= 0, 'attempts cannot be negative').optional(),
    perTryTimeout: RouteDurationSchema.optional(),
    retryOn: z
      .string()
      .superRefine((s, ctx) => {
        // Istio splits on commas without trimming: "5xx, reset" is refused, as the webhook does.
        for (const entry of s.split(',')) if (!isRetryOnEntry(entry)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not a valid retryOn policy` });
      })
      .optional(),
    retryRemoteLocalities: z.boolean().optional(),
    retryIgnorePreviousHosts: z.boolean().optional(),
    backoff: RouteDurationSchema.optional(),
  })
  .superRefine((r, ctx) => {
    if ((r.attempts ?? 0) === 0 && (r.perTryTimeout !== undefined || r.retryOn !== undefined || r.retryRemoteLocalities !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'http retry policy configured when attempts are set to 0 (disabled)' });
    }
  });

/** gRPC status names Istio accepts for an abort, with their codes. */
export const GRPC_STATUS: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

export const HttpFaultInjectionSchema = z
  .strictObject({
    delay: z
      .strictObject({
        percent: z.int().min(0).max(100).optional(),
        fixedDelay: RouteDurationSchema.optional(),
        exponentialDelay: RouteDurationSchema.optional(),
        percentage: FaultPercentSchema.optional(),
      })
      .superRefine((d, ctx) => {
        if (d.exponentialDelay !== undefined) ctx.addIssue({ code: 'custom', path: ['exponentialDelay'], message: 'exponentialDelay not supported yet (as in Istio)' });
        else if (d.fixedDelay === undefined) ctx.addIssue({ code: 'custom', message: 'delay needs fixedDelay' });
      })
      .optional(),
    abort: z
      .strictObject({
        httpStatus: z.int().min(200, 'HTTP status must be 200-599').max(599, 'HTTP status must be 200-599').optional(),
        grpcStatus: z
          .string()
          .refine((s) => s in GRPC_STATUS, 'not a supported gRPC status name, e.g. UNAVAILABLE')
          .optional(),
        http2Error: z.string().optional(),
        percentage: FaultPercentSchema.optional(),
      })
      .superRefine((a, ctx) => {
        const msg = atMostOneOf(a, ['httpStatus', 'grpcStatus', 'http2Error']);
        if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
        if (a.http2Error !== undefined) ctx.addIssue({ code: 'custom', path: ['http2Error'], message: 'HTTP/2 abort fault injection not supported yet (as in Istio)' });
        if (a.httpStatus === undefined && a.grpcStatus === undefined && a.http2Error === undefined) {
          ctx.addIssue({ code: 'custom', message: 'abort needs httpStatus or grpcStatus' });
        }
      })
      .optional(),
  })
  .superRefine((f, ctx) => {
    if (f.delay === undefined && f.abort === undefined) ctx.addIssue({ code: 'custom', message: 'HTTP fault injection must have an abort and/or a delay' });
  });
