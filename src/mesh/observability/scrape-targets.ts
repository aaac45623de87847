/**
 * Prometheus file-based service discovery from mesh.json: every running sidecar's admin port (Istio's 15020,
 * /stats/prometheus), the ingress gateway's, and the control plane's metrics listener, rewritten whenever the mesh changes, so targets
 * follow workloads as they come and go.
 */
import type { MeshFile } from '../mesh-file.js';

/** Istio's sidecar admin port, where `weft proxy` serves its metrics. */
const SIDECAR_ADMIN_PORT = 15020;

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export function scrapeTargets(mesh: MeshFile, controlMetrics: string | undefined): { sidecars: TargetGroup[]; control: TargetGroup[] } {
  const sidecars = mesh.workloads
    .filter((w) => w.proxyPid !== null)
    .map((w) => ({ targets: [`${w.podIP}:${SIDECAR_ADMIN_PORT}`], labels: { namespace: w.namespace, pod: w.name } }));
  const gw = mesh.gateway;
  if (gw?.admin !== undefined && gw.proxyPid !== null) sidecars.push({ targets: [gw.admin], labels: { namespace: gw.namespace, pod: gw.name } });
  return { sidecars, control: controlMetrics === undefined ? [] : [{ targets: [controlMetrics], labels: { app: 'weft-control' } }] };
}
