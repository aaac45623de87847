/**
 * The cluster part of the ProxyConfig contract: one (service, port, subset) with its DestinationRule traffic policy
 * chosen, merged and defaulted by the control plane, which the proxy's balancers, breakers and outlier detection read.
 */
import { z } from 'zod';
import { port } from './scalars.js';
import { clientCredential } from './client-credential-types.js';

/**
 * The compiled cluster contract: one (service, port, subset) with the DestinationRule's traffic policy already
 * chosen (Istio's lookup) and merged (subset over top level, port-level settings replacing all four components), and
 * Istio's defaults filled in, so the proxy reads numbers, never user YAML. Durations are milliseconds.
 */
export const hashKey = z.union([
  z.strictObject({ header: z.string() }),
  /** ttlMs set: a request without the cookie gets one generated (0 = a session cookie). */
  z.strictObject({ cookie: z.strictObject({ name: z.string(), path: z.string().nullable(), ttlMs: z.number().int().min(0).nullable() }) }),
  z.strictObject({ sourceIp: z.literal(true) }),
  z.strictObject({ queryParameter: z.string() }),
]);

export const loadBalancerPolicy = z.union([
  z.strictObject({ policy: z.enum(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'PASSTHROUGH']) }),
  z.strictObject({ policy: z.literal('RING_HASH'), hashKey, minimumRingSize: z.number().int().min(1) }),
  z.strictObject({ policy: z.literal('MAGLEV'), hashKey, tableSize: z.number().int().min(1) }),
]);

export const connectionPoolPolicy = z.strictObject({
  maxConnections: z.number().int().min(0),
  maxPendingRequests: z.number().int().min(0),
  maxRequests: z.number().int().min(0),
  maxRetries: z.number().int().min(0),
  /** 0: unlimited. */
  maxRequestsPerConnection: z.number().int().min(0),
  connectTimeoutMs: z.number().min(0),
  /** 0: none. */
  tcpIdleTimeoutMs: z.number().min(0),
  httpIdleTimeoutMs: z.number().min(0),
  /** 0: none. */
  maxConnectionDurationMs: z.number().min(0),
  tcpKeepalive: z.strictObject({ probes: z.number().int().min(0).nullable(), timeMs: z.number().nullable(), intervalMs: z.number().nullable() }).nullable(),
  h2UpgradePolicy: z.enum(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE']),
  useClientProtocol: z.boolean(),
  maxConcurrentStreams: z.number().int().min(0),
  /** HTTP/2 PINGs on upstream sessions (Istio's `http.http2KeepAlive`); absent: none. */
  http2KeepAlive: z.strictObject({ intervalMs: z.number().min(1), timeoutMs: z.number().min(1) }).optional(),
});

export const outlierDetectionPolicy = z.strictObject({
  /** 0 turns a detector off. */
  consecutive5xx: z.number().int().min(0),
  consecutiveGatewayErrors: z.number().int().min(0),
  consecutiveLocalOriginFailures: z.number().int().min(0),
  splitExternalLocalOriginErrors: z.boolean(),
  intervalMs: z.number().min(1),
  baseEjectionTimeMs: z.number().min(1),
  /** Envoy's max_ejection_time, which Istio leaves at its default: the cap on base × ejections. */
  maxEjectionTimeMs: z.number().min(1),
  maxEjectionPercent: z.number().min(0).max(100),
  /** Envoy's healthy_panic_threshold: below this % of healthy hosts, balance over all of them. 0: never. */
  minHealthPercent: z.number().min(0).max(100),
});

export const clientTlsPolicy = z.strictObject({
  mode: z.enum(['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL']),
  sni: z.string().nullable(),
  subjectAltNames: z.array(z.string()),
  caCertificates: z.string().nullable(),
  clientCertificate: z.string().nullable(),
  privateKey: z.string().nullable(),
  credentialName: z.string().nullable(),
  insecureSkipVerify: z.boolean(),
  /** A certificate revocation list file (PEM) checked beside the CA; absent: none. */
  caCrl: z.string().optional(),
  /**
   * `credentialName` resolved for this proxy (client-credential-types.ts). Absent where Istio does not apply it (a
   * sidecar whose rule has no workloadSelector keeps the file fields) or when the rule names no Secret.
   */
  credential: clientCredential.optional(),
});

/** DestinationRule `tunnel`: opaque connections to the host go through an HTTP CONNECT (or POST) naming targetHost:targetPort. */
export const tunnelPolicy = z.strictObject({ protocol: z.enum(['CONNECT', 'POST']), targetHost: z.string(), targetPort: port });

/** DestinationRule `proxyProtocol`: every upstream connection starts with a PROXY header of this version. */
export const proxyProtocolVersion = z.enum(['V1', 'V2']);

export const TrafficPolicyConfigSchema = z.strictObject({
  loadBalancer: loadBalancerPolicy,
  warmup: z.strictObject({ durationMs: z.number().min(0), minimumPercent: z.number().min(0).max(100), aggression: z.number().min(1) }).nullable(),
  /** Locality settings as written; each proxy places endpoints by them (src/proxy/balance/locality-placement.ts). */
  localityLbSetting: z.record(z.string(), z.unknown()).nullable(),
  connectionPool: connectionPoolPolicy,
  /** Null: no outlier detection (Istio enables it only when the rule says outlierDetection). */
  outlierDetection: outlierDetectionPolicy.nullable(),
  /** Null: the rule says nothing, and auto mTLS decides. */
  tls: clientTlsPolicy.nullable(),
  tunnel: tunnelPolicy.nullable(),
  proxyProtocol: proxyProtocolVersion.nullable(),
});

export const ClusterConfigSchema = z.strictObject({
  /** Envoy's name for it: `outbound|9080|v1|reviews.default.svc.cluster.local` (subset empty when none). */
  name: z.string(),
  host: z.string(),
  port,
  /** Null: the whole service. */
  subset: z.string().nullable(),
  /** The subset's labels; an endpoint belongs to the subset when it carries all of them. */
  labels: z.record(z.string(), z.string()),
  /** `namespace/name` of each DestinationRule merged into this cluster, oldest first; empty when none applies. */
  destinationRules: z.array(z.string()),
  policy: TrafficPolicyConfigSchema,
});
