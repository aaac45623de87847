/**
 * Runtime state of every endpoint a proxy balances over, keyed by (cluster, endpoint address), kept across config
 * pushes: a push swaps the compiled config, and the new config finds here the same balancer positions, in-flight
 * counts, breaker counters and outlier ejections (Envoy keeps host state across CDS updates for the same reason).
 * An endpoint no longer in the config is dropped, and a cluster no longer in it is closed.
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

  constructor(private readonly clock: Clock) {}

  /** Applies a new compiled config; returns nothing to wait for (state moves over synchronously). */
  apply(clusters: readonly ClusterEndpoints[]): void {
    const seen = new Set<string>();
    for (const { config, addresses, placement } of clusters) {
      seen.add(config.name);
      const existing = this.clusters.get(config.name);
      const old = new Map((existing?.hosts ?? []).map((h) => [h.address, h] as const));
      // A cluster's first hosts are warm; a host that joins later starts its warmup window now.
      const addedAt = existing === undefined ? -Infinity : this.clock.now();
      const hosts = addresses.map((a) => old.get(a) ?? newEndpointState(config.name, a, addedAt));
      if (existing === undefined) this.clusters.set(config.name, new ClusterRuntime(config.name, config, hosts, this.clock, placement));
      else existing.update(config, hosts, placement);
    }
    for (const [name, runtime] of this.clusters) {
      if (seen.has(name)) continue;
      runtime.close();
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
  }
}
