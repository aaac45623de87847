/**
 * The telemetry section, the same for every proxy of a snapshot: each workload's metadata as Istio's metric labels
 * name it, so a proxy labels both ends of a request from config alone.
 */
import { DEFAULT_CLUSTER_ID, workloadMetadataOf } from '../../proxyconfig/telemetry-types.js';
import type { TelemetryConfig } from '../../proxyconfig/telemetry-types.js';
import type { MeshSnapshot } from './snapshot.js';
import { perSnapshot, sharedSection } from './snapshot-memo.js';
import type { SharedSection } from './snapshot-memo.js';

export function telemetrySection(snap: MeshSnapshot): SharedSection<TelemetryConfig> {
  return perSnapshot(snap, 'telemetry', () => sharedSection(compileTelemetry(snap)));
}

export function compileTelemetry(snap: MeshSnapshot): TelemetryConfig {
  const td = snap.mesh.trustDomain;
  const workloads = snap.registry.workloads
    .map((w) => workloadMetadataOf(w.namespace, w.name, `spiffe://${td}/ns/${w.namespace}/sa/${w.serviceAccount}`, w.labels))
    .sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
  return { clusterId: DEFAULT_CLUSTER_ID, workloads };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
