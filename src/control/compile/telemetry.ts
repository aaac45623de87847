/**
 * The telemetry section, the same for every proxy of a snapshot: each workload's metadata as Istio's metric labels
 * name it, so a proxy labels both ends of a request from config alone.
 */
import { DEFAULT_CLUSTER_ID, workloadMetadataOf } from '../../proxyconfig/telemetry-types.js';
import type { TelemetryConfig, TracingConfig } from '../../proxyconfig/telemetry-types.js';
import type { MeshSnapshot } from './snapshot.js';
import { perEpoch, perSnapshot, sharedSection } from './snapshot-memo.js';
import { sameItems } from './policy-epoch.js';
import type { RegistryWorkload } from '../registry/index.js';
import type { SharedSection } from './snapshot-memo.js';

/**
 * One per snapshot; a snapshot of the same policy epoch with the same workload objects as the last one compiled
 * (a change to Services only) shares its section instead of writing and hashing every workload's metadata again.
 */
export function telemetrySection(snap: MeshSnapshot): SharedSection<TelemetryConfig> {
  return perSnapshot(snap, 'telemetry', () => {
    const last = perEpoch(snap, 'telemetry', (): { workloads: readonly RegistryWorkload[]; section?: SharedSection<TelemetryConfig> } => ({ workloads: [] }));
    if (last.section !== undefined && sameItems(last.workloads, snap.registry.workloads)) return last.section;
    const section = sharedSection(compileTelemetry(snap));
    last.workloads = snap.registry.workloads;
    last.section = section;
    return section;
  });
}

export function compileTelemetry(snap: MeshSnapshot): TelemetryConfig {
  const td = snap.mesh.trustDomain;
  const workloads = snap.registry.workloads
    .map((w) => workloadMetadataOf(w.namespace, w.name, `spiffe://${td}/ns/${w.namespace}/sa/${w.serviceAccount}`, w.labels))
    .sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
  const { encoding, format } = snap.mesh.accessLog;
  const tracing = tracingOf(snap);
  return { clusterId: DEFAULT_CLUSTER_ID, workloads, accessLog: { encoding, format }, ...(tracing ? { tracing } : {}) };
}

/**
 * Istio's choice of tracing provider without Telemetry resources: the first of `defaultProviders.tracing` that is an
 * opentelemetry extension provider; none, or `enableTracing: false`, turns tracing off.
 */
function tracingOf(snap: MeshSnapshot): TracingConfig | undefined {
  const { tracing, tracingProviders } = snap.mesh;
  if (!tracing.enabled) return undefined;
  const provider = tracing.providers.map((name) => tracingProviders.find((p) => p.name === name)).find((p) => p !== undefined);
  if (!provider) return undefined;
  return { collector: { host: provider.service, port: provider.port, path: provider.path }, samplingPercent: tracing.sampling, maxTagLength: provider.maxTagLength };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
