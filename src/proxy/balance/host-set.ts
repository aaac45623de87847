/**
 * The hosts of one cluster and which of them a balancer may pick: the healthy ones (not ejected), or, when fewer
 * than minHealthPercent of them are healthy, all of them (Envoy's panic mode, which Istio's minHealthPercent sets;
 * 0 turns it off, so a cluster with every host ejected answers "no healthy upstream"). The candidate list is a new
 * array only when membership or health changes, which is what balancers key their tables on.
 */
import type { BalanceHost } from './balancer.js';

export interface HealthAwareHost extends BalanceHost {
  /** Read here; written by the outlier detector, which shares the host's state object. */
  ejected: boolean;
}

export class HostSet<H extends HealthAwareHost> {
  private cached: readonly H[] | undefined;
  private panicking = false;

  constructor(
    readonly hosts: readonly H[],
    private readonly minHealthPercent: number,
  ) {}

  /** Call after a host's ejected flag changed. */
  healthChanged(): void {
    this.cached = undefined;
  }

  /** True when the last candidates() call fell back to every host. */
  get panic(): boolean {
    this.candidates();
    return this.panicking;
  }

  candidates(): readonly H[] {
    if (this.cached !== undefined) return this.cached;
    const healthy = this.hosts.filter((h) => !h.ejected);
    this.panicking = this.hosts.length > 0 && (100 * healthy.length) / this.hosts.length < this.minHealthPercent;
    this.cached = this.panicking || healthy.length === this.hosts.length ? this.hosts : healthy;
    return this.cached;
  }
}
