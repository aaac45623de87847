/**
 * Runtime state of every endpoint a proxy balances over, keyed by (cluster, endpoint address), kept across config
 * pushes: a push swaps the compiled config, and the new config finds here the same balancer positions, in-flight
 * counts, breaker counters and outlier ejections (Envoy keeps host state across CDS updates for the same reason).
 * An endpoint no longer in the config is dropped, and a cluster no longer in it is closed. A push hands over only
 * the clusters it changed (config/cluster-changes.ts): the others' state is not touched, so a push costs what it
 * changed rather than a pass over every cluster and endpoint.
 */
import type { Clock } from '../../clock.js';
import type { ClusterConfig } from '../../proxyconfig/types.js';
import { ClusterRuntime, newEndpointState } from './cluster-runtime.js';
import type { EndpointState } from './cluster-runtime.js';
import type { PlacementGroup } from './locality-placement.js';

export interface ClusterEndpoints {
  config: ClusterConfig;
  /** The addresses of the endpoints in this cluster (the subset's, for a subset cluster). */
  addresses: readonly string[];
  /** Locality-aware balancing (localityLbSetting) for this proxy; absent: every endpoint equal. */
  placement?: readonly PlacementGroup[];
}

export class EndpointRegistry {
  private readonly clusters = new Map<string, ClusterRuntime>();
  /** Cluster name → how many clusters of the config in force carry it (one, unless a config names two alike). */
  private readonly holders = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  /**
   * Applies what a push changed: `joined`, the clusters it added or compiled anew, and `left`, the names of those it
   * removed or replaced (a changed cluster is in both, and keeps its state). A cluster no longer carried is closed.
   */
  apply(joined: readonly ClusterEndpoints[], left: readonly string[] = []): void {
    for (const { config, addresses, placement } of joined) {
      this.holders.set(config.name, (this.holders.get(config.name) ?? 0) + 1);
      const existing = this.clusters.get(config.name);
      // A cluster's first hosts are warm; a host that joins later starts its warmup window now.
      if (existing === undefined) {
        const hosts = addresses.map((a) => newEndpointState(config.name, a));
        this.clusters.set(config.name, new ClusterRuntime(config.name, config, hosts, this.clock, placement));
        continue;
      }
      const old = new Map(existing.hosts.map((h) => [h.address, h] as const));
      const now = this.clock.now();
      existing.update(config, addresses.map((a) => old.get(a) ?? newEndpointState(config.name, a, now)), placement);
    }
    // Counted down after the joined are counted up, so that a changed cluster is never closed on the way.
    for (const name of left) {
      const n = (this.holders.get(name) ?? 0) - 1;
      if (n > 0) {
        this.holders.set(name, n);
        continue;
      }
      this.holders.delete(name);
      this.clusters.get(name)?.close();
      this.clusters.delete(name);
    }
  }

  cluster(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  /** Every cluster, for the proxy's runtime report. */
  all(): IterableIterator<ClusterRuntime> {
    return this.clusters.values();
  }

  endpoint(cluster: string, address: string): EndpointState | undefined {
    return this.clusters.get(cluster)?.hosts.find((h) => h.address === address);
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
    this.clusters.clear();
    this.holders.clear();
  }
}
