/**
 * The clusters a config adds and removes against the config it replaces, found by identity: a config compiled from
 * a delta keeps each unchanged service's compiled parts, the very objects (compiled-config.ts), so a service whose
 * compiled object is the one the previous config held has the same clusters with the same endpoints and policies.
 * The runtime state kept per cluster and per endpoint (endpoint registry, connection pools) is brought up to date
 * from this alone, at the cost of what changed: one identity check per service, then work for the changed ones.
 */
import type { ClusterBinding } from './balanced-port.js';
import type { CompiledProxyConfig, CompiledService } from './compiled-config.js';

export interface ClusterChanges {
  /** Clusters new to the config, or compiled anew with their service (a changed cluster is in both lists). */
  readonly joined: readonly ClusterBinding[];
  /** Clusters of the previous config that this one no longer holds as they were. */
  readonly left: readonly ClusterBinding[];
}

/** `previous` undefined: every cluster joins. */
export function clusterChanges(previous: CompiledProxyConfig | undefined, next: CompiledProxyConfig): ClusterChanges {
  const joined: ClusterBinding[] = [];
  const left: ClusterBinding[] = [];
  // Locality placement is read with the proxy's labels: when they may have changed, every cluster is applied again.
  if (previous === undefined || previous.raw.proxy !== next.raw.proxy) {
    for (const svc of previous?.byHost.values() ?? []) clustersOf(svc, left);
    for (const svc of next.byHost.values()) clustersOf(svc, joined);
    return { joined, left };
  }
  let kept = 0;
  for (const [host, svc] of next.byHost) {
    const old = previous.byHost.get(host);
    if (old !== undefined) kept++;
    if (old === svc) continue;
    if (old !== undefined) clustersOf(old, left);
    clustersOf(svc, joined);
  }
  // Every host of the previous config is still there (the common push): none to look for.
  if (kept < previous.byHost.size) for (const [host, old] of previous.byHost) if (!next.byHost.has(host)) clustersOf(old, left);
  return { joined, left };
}

function clustersOf(svc: CompiledService, into: ClusterBinding[]): void {
  for (const port of svc.ports.values()) for (const c of port.clusters.values()) into.push(c);
}
