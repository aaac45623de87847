/**
 * Istio's TrafficPolicy family (load balancing, connection pools, outlier detection, client TLS), shared by
 * DestinationRule and by Sidecar's inbound connection pool.
 */
import { z } from 'zod';
import {
  DurationSchema,
  PositiveDurationSchema,
  Int32Schema,
  PortNumberSchema,
  PortSelectorSchema,
  StringMapSchema,
  UInt32Schema,
  UInt64Schema,
  atMostOneOf,
} from './scalars.js';
import { tryParseDuration } from '../duration.js';

/** Istio types these int32 but refuses negatives ("must be non-negative"). */
const NonNegativeInt32Schema = Int32Schema.refine((n) => n >= 0, 'must not be negative');

/** A TCP idle timeout: "0s" turns it off, anything else must be at least 1ms (Istio's rule). */
const IdleTimeoutSchema = DurationSchema.refine((s) => {
  const ms = tryParseDuration(s) ?? 0;
  return ms === 0 || ms >= 1;
}, 'invalid duration: expected "0s" (no idle timeout) or at least 1ms');

const HttpCookieSchema = z.strictObject({
  name: z.string().min(1),
  path: z.string().optional(),
  ttl: DurationSchema.optional(),
  attributes: z.array(z.strictObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
});

const ConsistentHashSchema = z
  .strictObject({
    httpHeaderName: z.string().optional(),
    httpCookie: HttpCookieSchema.optional(),
    useSourceIp: z.boolean().optional(),
    httpQueryParameterName: z.string().optional(),
    ringHash: z.strictObject({ minimumRingSize: UInt64Schema.optional() }).optional(),
    maglev: z.strictObject({ tableSize: UInt64Schema.optional() }).optional(),
    // Deprecated in favour of ringHash.minimumRingSize; still accepted, as Istio does.
    minimumRingSize: UInt64Schema.optional(),
  })
  .superRefine((c, ctx) => {
    for (const group of [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'], ['ringHash', 'maglev']]) {
      const msg = atMostOneOf(c, group);
      if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
    }
  });

const FailoverSchema = z.strictObject({ from: z.string().optional(), to: z.string().optional() });

const LocalityLbSettingSchema = z.strictObject({
  distribute: z.array(z.strictObject({ from: z.string().optional(), to: z.record(z.string(), UInt32Schema).optional() })).optional(),
  failover: z.array(FailoverSchema).optional(),
  failoverPriority: z.array(z.string()).optional(),
  enabled: z.boolean().optional(),
});

const ZoneAwareLbSettingSchema = z.strictObject({
  enabled: z.boolean().optional(),
  failover: z.array(FailoverSchema).optional(),
  failoverPriority: z.array(z.string()).optional(),
  minClusterSize: UInt64Schema.optional(),
});

export const LoadBalancerSettingsSchema = z
  .strictObject({
    simple: z.enum(['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST']).optional(),
    consistentHash: ConsistentHashSchema.optional(),
    localityLbSetting: LocalityLbSettingSchema.optional(),
    zoneAwareLbSetting: ZoneAwareLbSettingSchema.optional(),
    warmupDurationSecs: DurationSchema.optional(),
    warmup: z
      .strictObject({
        duration: PositiveDurationSchema,
        minimumPercent: z.number().min(0).max(100).optional(),
        aggression: z.number().min(1).optional(),
      })
      .optional(),
  })
  .superRefine((lb, ctx) => {
    const msg = atMostOneOf(lb, ['simple', 'consistentHash']);
    if (msg !== undefined) ctx.addIssue({ code: 'custom', message: msg });
  });

export const ConnectionPoolSettingsSchema = z.strictObject({
  tcp: z
    .strictObject({
      maxConnections: NonNegativeInt32Schema.optional(),
      connectTimeout: PositiveDurationSchema.optional(),
      tcpKeepalive: z
        .strictObject({ probes: UInt32Schema.optional(), time: PositiveDurationSchema.optional(), interval: PositiveDurationSchema.optional() })
        .optional(),
      maxConnectionDuration: PositiveDurationSchema.optional(),
      idleTimeout: IdleTimeoutSchema.optional(),
    })
    .optional(),
  http: z
    .strictObject({
      http1MaxPendingRequests: NonNegativeInt32Schema.optional(),
      http2MaxRequests: NonNegativeInt32Schema.optional(),
      maxRequestsPerConnection: NonNegativeInt32Schema.optional(),
      maxRetries: NonNegativeInt32Schema.optional(),
      idleTimeout: PositiveDurationSchema.optional(),
      h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']).optional(),
      useClientProtocol: z.boolean().optional(),
      maxConcurrentStreams: NonNegativeInt32Schema.optional(),
      // HTTP/2 PING frames on upstream sessions (Istio's API requires both fields: traffic-policy-check.ts).
      http2KeepAlive: z.strictObject({ interval: PositiveDurationSchema.optional(), timeout: PositiveDurationSchema.optional() }).optional(),
    })
    .optional(),
});

export const OutlierDetectionSchema = z.strictObject({
  consecutiveErrors: Int32Schema.optional(),
  splitExternalLocalOriginErrors: z.boolean().optional(),
  consecutiveLocalOriginFailures: UInt32Schema.optional(),
  consecutiveGatewayErrors: UInt32Schema.optional(),
  consecutive5xxErrors: UInt32Schema.optional(),
  interval: PositiveDurationSchema.optional(),
  baseEjectionTime: PositiveDurationSchema.optional(),
  maxEjectionPercent: z.int().min(0).max(100).optional(),
  minHealthPercent: z.int().min(0).max(100).optional(),
  outlierDetectionHttpErrorCodes: z.array(z.int().min(100).max(599)).optional(),
});

export const ClientTlsSettingsSchema = z.strictObject({
  mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']).optional(),
  clientCertificate: z.string().optional(),
  privateKey: z.string().optional(),
  caCertificates: z.string().optional(),
  credentialName: z.string().optional(),
  subjectAltNames: z.array(z.string()).optional(),
  sni: z.string().optional(),
  insecureSkipVerify: z.boolean().optional(),
  caCrl: z.string().optional(),
});

const PortTrafficPolicySchema = z.strictObject({
  port: PortSelectorSchema.optional(),
  loadBalancer: LoadBalancerSettingsSchema.optional(),
  connectionPool: ConnectionPoolSettingsSchema.optional(),
  outlierDetection: OutlierDetectionSchema.optional(),
  tls: ClientTlsSettingsSchema.optional(),
});

export const TrafficPolicySchema = z.strictObject({
  loadBalancer: LoadBalancerSettingsSchema.optional(),
  connectionPool: ConnectionPoolSettingsSchema.optional(),
  outlierDetection: OutlierDetectionSchema.optional(),
  tls: ClientTlsSettingsSchema.optional(),
  portLevelSettings: z.array(PortTrafficPolicySchema).optional(),
  tunnel: z
    .strictObject({
      protocol: z.enum(['CONNECT', 'POST']).optional(),
      targetHost: z.string().min(1, 'targetHost is required'),
      targetPort: PortNumberSchema,
    })
    .optional(),
  proxyProtocol: z.strictObject({ version: z.enum(['V1', 'V2']).optional() }).optional(),
  retryBudget: z
    .strictObject({
      percent: z.number().min(0).max(100).optional(),
      minRetryConcurrency: UInt32Schema.optional(),
      budgetInterval: DurationSchema.optional(),
    })
    .optional(),
});

export type TrafficPolicy = z.infer<typeof TrafficPolicySchema>;
export type LoadBalancerSettings = z.infer<typeof LoadBalancerSettingsSchema>;
export type ConnectionPoolSettings = z.infer<typeof ConnectionPoolSettingsSchema>;
export type OutlierDetection = z.infer<typeof OutlierDetectionSchema>;
export type ClientTlsSettings = z.infer<typeof ClientTlsSettingsSchema>;
export type PortTrafficPolicy = z.infer<typeof PortTrafficPolicySchema>;
export type LocalityLbSetting = z.infer<typeof LocalityLbSettingSchema>;
export type ConsistentHash = z.infer<typeof ConsistentHashSchema>;

export const SubsetSchema = z.strictObject({
  name: z.string().min(1),
  labels: StringMapSchema.optional(),
  trafficPolicy: TrafficPolicySchema.optional(),
});
