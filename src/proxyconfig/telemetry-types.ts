/**
 * The telemetry section of a ProxyConfig: what a proxy needs to label its metrics and logs the way Istio's standard
 * metrics are labelled, from config alone. Every workload of the mesh is listed with the labels Istio derives from a
 * pod (app, version, canonical service and revision), so either end of a request can name the other end's workload
 * without trusting anything the request carried: a peer is looked up by name and accepted only when its SPIFFE ID is
 * the one the mTLS handshake verified.
 */
import { z } from 'zod';

const workloadMetadata = z.strictObject({
  namespace: z.string(),
  name: z.string(),
  spiffeId: z.string(),
  app: z.string(),
  version: z.string(),
  canonicalService: z.string(),
  canonicalRevision: z.string(),
});

/** MeshConfig `accessLogEncoding` and `accessLogFormat` (empty: the encoding's default). */
const accessLogConfig = z.strictObject({ encoding: z.enum(['TEXT', 'JSON']), format: z.string() });

/** Where spans go and how many requests start a sampled trace; absent when tracing is off or names no collector. */
const tracingConfig = z.strictObject({
  /** The OTLP/HTTP endpoint of the collector an opentelemetry extension provider names. */
  collector: z.strictObject({ host: z.string(), port: z.number().int().min(1).max(65535), path: z.string() }),
  /** Percentage of requests without a sampling decision that start a sampled trace. */
  samplingPercent: z.number().min(0).max(100),
  maxTagLength: z.number().int().min(1),
});

export const TelemetryConfigSchema = z.strictObject({
  /** Istio's `source_cluster` / `destination_cluster`: the mesh's cluster id (Istio's default is `Kubernetes`). */
  clusterId: z.string(),
  workloads: z.array(workloadMetadata),
  accessLog: accessLogConfig.optional(),
  tracing: tracingConfig.optional(),
});

export type AccessLogConfig = z.infer<typeof accessLogConfig>;
export type TracingConfig = z.infer<typeof tracingConfig>;

export type TelemetryConfig = z.infer<typeof TelemetryConfigSchema>;
export type WorkloadMetadata = z.infer<typeof workloadMetadata>;

/** Istio's default cluster id, which its dashboards and Kiali expect when one cluster runs the mesh. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';

/**
 * The labels Istio derives from a pod's labels (pkg/model's canonical service rules): `app` is `app` else
 * `app.kubernetes.io/name`; `version` is `version` else `app.kubernetes.io/version`; the canonical service is
 * `service.istio.io/canonical-name`, else the app, else the workload's name; the canonical revision is
 * `service.istio.io/canonical-revision`, else the version, else `latest`. Missing values are `unknown`, as Istio
 * reports them.
 */
export function workloadMetadataOf(namespace: string, name: string, spiffeId: string, labels: Readonly<Record<string, string>>): WorkloadMetadata {
  const app = labels['app'] ?? labels['app.kubernetes.io/name'];
  const version = labels['version'] ?? labels['app.kubernetes.io/version'];
  return {
    namespace,
    name,
    spiffeId,
    app: app ?? 'unknown',
    version: version ?? 'unknown',
    canonicalService: labels['service.istio.io/canonical-name'] ?? app ?? name,
    canonicalRevision: labels['service.istio.io/canonical-revision'] ?? version ?? 'latest',
  };
}
