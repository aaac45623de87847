/**
 * Prometheus file-based service discovery from mesh.json: every running sidecar's admin port (Istio's 15020,
 * /stats/prometheus), the ingress gateway's, and every control-plane replica's metrics listener, rewritten whenever
 * the mesh changes, so targets follow workloads as they come and go.
 */
import type { MeshFile } from '../mesh-file.js';

/** Istio's sidecar admin port, where `weft proxy` serves its metrics. */
const SIDECAR_ADMIN_PORT = 15020;

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * `controlMetrics`: every control-plane replica's metrics listener, the first replica first; each is a target of its
 * own, labelled with the replica's name as `weft up` names it (control, control-1, ...), so a replica that stops
 * answering shows as one target down.
 */
export function scrapeTargets(mesh: MeshFile, controlMetrics: readonly string[]): { sidecars: TargetGroup[]; control: TargetGroup[] } {
  const sidecars = mesh.workloads
    .filter((w) => w.proxyPid !== null)
    .map((w) => ({ targets: [`${w.podIP}:${SIDECAR_ADMIN_PORT}`], labels: { namespace: w.namespace, pod: w.name } }));
  const gw = mesh.gateway;
  if (gw?.admin !== undefined && gw.proxyPid !== null) sidecars.push({ targets: [gw.admin], labels: { namespace: gw.namespace, pod: gw.name } });
  const control = controlMetrics.map((address, i) => ({ targets: [address], labels: { app: 'weft-control', replica: i === 0 ? 'control' : `control-${i}` } }));
  return { sidecars, control };
}

/** One loopback metrics address per replica, on distinct free ports. */
export async function metricsAddresses(replicas: number, freePort: () => Promise<number>): Promise<string[]> {
  const ports = new Set<number>();
  while (ports.size < replicas) ports.add(await freePort());
  return [...ports].map((p) => `127.0.0.1:${p}`);
}
