/**
 * The proxy config a route check runs on: compiled from YAML files by the control plane's own pure compile (what a
 * proxy of that workload would receive), or the config the proxy on the running mesh ACKed. Either is turned into
 * the proxy's compiled structures by the proxy's own code, schema check included.
 */
import { loadResources } from '../config/load.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import type { MeshConfigSpec } from '../config/kinds/mesh-config.js';
import type { WorkloadSpec } from '../config/kinds/workload.js';
import { buildSnapshot } from '../control/compile/snapshot.js';
import { compileProxyConfig } from '../control/compile/index.js';
import { acceptProxyConfig } from '../proxy/config/compiled-config.js';
import type { CompiledProxyConfig } from '../proxy/config/compiled-config.js';
import type { Resource } from '../config/resource.js';
import { WeftError } from '../errors.js';

/** The sidecar config of Workload `namespace/name` among `resources`. */
export function sidecarConfigFrom(resources: readonly Resource[], namespace: string, name: string): CompiledProxyConfig {
  const workload = resources.find((r) => r.kind === 'Workload' && r.metadata.namespace === namespace && r.metadata.name === name);
  if (workload === undefined) throw new WeftError('NOT_FOUND', `workloads.weft.dev "${name}" not found in namespace ${namespace} in the files given`);
  const meshConfig = resources.find((r) => r.kind === 'MeshConfig')?.spec as MeshConfigSpec | undefined;
  const snap = buildSnapshot(resources, 0, meshConfigWithDefaults(meshConfig));
  const serviceAccount = (workload.spec as WorkloadSpec).serviceAccount ?? 'default';
  return acceptProxyConfig(compileProxyConfig(snap, { role: 'sidecar', namespace, name, serviceAccount }));
}

export async function sidecarConfigFromFiles(files: string[], namespace: string, name: string): Promise<CompiledProxyConfig> {
  return sidecarConfigFrom((await loadResources(files, { stdin: process.stdin })).map((l) => l.resource), namespace, name);
}
