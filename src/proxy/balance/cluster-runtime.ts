/**
 * One cluster's live state: its hosts (each with its own counters), the balancer (its position), the circuit
 * breaker (requests in flight) and the outlier detector with its sweep timer. Built and updated only by the
 * EndpointRegistry, which keeps it across config pushes.
 */
import type { Clock } from '../../clock.js';
import type { ClusterConfig, LoadBalancerPolicy, OutlierDetectionPolicy } from '../../proxyconfig/types.js';
import { CircuitBreaker } from '../resilience/circuit-breaker.js';
import { OutlierDetector, freshOutlierState } from '../resilience/outlier-detector.js';
import type { OutlierHostState } from '../resilience/outlier-detector.js';
import type { LoadBalancer, PickContext } from './balancer.js';
import { createWarmingBalancer } from './create-balancer.js';
import { HostSet } from './host-set.js';
import type { HealthAwareHost } from './host-set.js';
import type { PlacementGroup } from './locality-placement.js';
import { PrioritySet } from './priority-set.js';

export interface EndpointState extends OutlierHostState, HealthAwareHost {
  readonly cluster: string;
  readonly address: string;
  activeRequests: number;
  /** When the host joined the cluster (clock ms; -Infinity for the cluster's first hosts), for warmup. */
  readonly addedAt: number;
}

export function newEndpointState(cluster: string, address: string, addedAt = -Infinity): EndpointState {
  return { cluster, address, activeRequests: 0, addedAt, ...freshOutlierState() };
}

export class ClusterRuntime {
  readonly breaker: CircuitBreaker;
  private hostSet: HostSet<EndpointState>;
  private balancer: LoadBalancer;
  private balancerPolicy: string;
  private outlier: OutlierDetector<EndpointState> | undefined;
  private outlierPolicy: string;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Locality-aware clusters: priorities and weighted localities, each group with its own balancer. */
  private priorities: PrioritySet<EndpointState> | undefined;
  private prioritiesKey = '';

  constructor(
    readonly name: string,
    config: ClusterConfig,
    hosts: readonly EndpointState[],
    private readonly clock: Clock,
    placement?: readonly PlacementGroup[],
  ) {
    this.breaker = new CircuitBreaker(config.policy.connectionPool);
    this.hostSet = new HostSet(hosts, config.policy.outlierDetection?.minHealthPercent ?? 0);
    this.balancer = createWarmingBalancer(config.policy.loadBalancer, config.policy.warmup, clock);
    this.balancerPolicy = balancerKey(config);
    this.outlierPolicy = '';
    this.setPlacement(config, placement);
    this.setOutlier(config.policy.outlierDetection);
  }

  get hosts(): readonly EndpointState[] {
    return this.hostSet.hosts;
  }

  /** Fewer hosts healthy than the policy's minHealthPercent: balancing ignores ejection. */
  get panic(): boolean {
    return this.hostSet.panic;
  }

  /** A host for one request; undefined means no healthy upstream (Envoy's 503 `UH`). */
  pick(ctx: PickContext): EndpointState | undefined {
    if (this.priorities !== undefined) return this.priorities.pick(ctx);
    return this.balancer.pick(this.hostSet.candidates(), ctx);
  }

  /** Each priority's share of traffic in percent; undefined when the cluster is not locality-aware. */
  priorityLoads(): number[] | undefined {
    return this.priorities?.loads();
  }

  /** The detector that results of requests to this cluster's hosts are reported to; undefined when none. */
  get outlierDetector(): OutlierDetector<EndpointState> | undefined {
    return this.outlier;
  }

  /** A new config for the same cluster: state of hosts still listed, the breaker's counts and (same policy) the balancer stay. */
  update(config: ClusterConfig, hosts: readonly EndpointState[], placement?: readonly PlacementGroup[]): void {
    this.breaker.setLimits(config.policy.connectionPool);
    this.hostSet = new HostSet(hosts, config.policy.outlierDetection?.minHealthPercent ?? 0);
    const lb = balancerKey(config);
    if (lb !== this.balancerPolicy) {
      this.balancer = createWarmingBalancer(config.policy.loadBalancer, config.policy.warmup, this.clock);
      this.balancerPolicy = lb;
    }
    this.setPlacement(config, placement);
    this.setOutlier(config.policy.outlierDetection);
  }

  /** Same placement, policy and hosts: the groups and their balancers stay (a push elsewhere resets nothing). */
  private setPlacement(config: ClusterConfig, placement: readonly PlacementGroup[] | undefined): void {
    if (placement === undefined) {
      this.priorities = undefined;
      this.prioritiesKey = '';
      return;
    }
    const minHealth = config.policy.outlierDetection?.minHealthPercent ?? 0;
    const key = JSON.stringify([placement, config.policy.loadBalancer, config.policy.warmup, minHealth]);
    if (key === this.prioritiesKey && this.priorities !== undefined) return;
    const byAddress = new Map(this.hostSet.hosts.map((h) => [h.address, h] as const));
    const groups = placement.map((g) => ({ priority: g.priority, weight: g.weight, hosts: g.addresses.flatMap((a) => byAddress.get(a) ?? []) }));
    this.priorities = new PrioritySet(groups, minHealth, () => createWarmingBalancer(config.policy.loadBalancer, config.policy.warmup, this.clock));
    this.prioritiesKey = key;
  }

  close(): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private setOutlier(policy: OutlierDetectionPolicy | null): void {
    const key = policy === null ? '' : keyOf(policy);
    if (key === this.outlierPolicy && this.outlier !== undefined) {
      this.outlier.setHosts(this.hostSet.hosts);
      return;
    }
    this.close();
    this.outlierPolicy = key;
    if (policy === null) {
      // Nothing would ever return an ejected host without a detector.
      for (const h of this.hostSet.hosts) h.ejected = false;
      this.outlier = undefined;
      this.hostSet.healthChanged();
      this.priorities?.healthChanged();
      return;
    }
    this.outlier = new OutlierDetector<EndpointState>(policy, this.clock, {
      healthChanged: () => {
        this.hostSet.healthChanged();
        this.priorities?.healthChanged();
      },
    });
    this.outlier.setHosts(this.hostSet.hosts);
    this.scheduleSweep(policy.intervalMs);
  }

  private scheduleSweep(intervalMs: number): void {
    // The Clock cannot cancel a timer it did not make; a superseded timer sees it is no longer current and stops.
    const timer = this.clock.setTimeout(() => {
      if (this.sweepTimer !== timer) return;
      this.outlier?.sweep();
      this.scheduleSweep(intervalMs);
    }, intervalMs);
    this.sweepTimer = timer;
  }
}

function keyOf(policy: LoadBalancerPolicy | OutlierDetectionPolicy): string {
  return JSON.stringify(policy);
}

function balancerKey(config: ClusterConfig): string {
  return JSON.stringify([config.policy.loadBalancer, config.policy.warmup]);
}
