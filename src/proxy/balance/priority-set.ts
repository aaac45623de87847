/**
 * Envoy's priority levels and locality weights, for a cluster with locality-aware placement (locality-placement.ts).
 * Per pick: a priority drawn by Envoy's priority load, a locality within it by its weight, then that group's own
 * balancer over its hosts not ejected.
 * - A priority's health is min(100, 1.4 × healthy% ) (Envoy's overprovisioning factor 1.4: a priority keeps all its
 *   traffic until fewer than 1/1.4 ≈ 71% of its hosts are healthy). Loads are handed out in priority order, each
 *   priority taking min(what is left, its health scaled so the healths sum to at most 100): P0 at 100 takes it all;
 *   P0 at 50% healthy (health 70) sends 30% to P1.
 * - A locality's effective weight is its weight × min(1, 1.4 × its healthy fraction).
 * - Panic (minHealthPercent): when fewer than that share of the cluster's hosts are healthy, ejection is ignored.
 * Draws are weighted random (Envoy schedules localities by EDF: the same shares, without its strict order).
 * The health figures are recomputed only when membership or health changes.
 */
import type { LoadBalancer, PickContext } from './balancer.js';
import type { HealthAwareHost } from './host-set.js';

export const OVERPROVISIONING_FACTOR = 1.4;

interface Group<H> {
  readonly priority: number;
  readonly weight: number;
  readonly hosts: readonly H[];
  readonly balancer: LoadBalancer;
  /** Recomputed on health change: the hosts a pick may take, and the effective weight. */
  candidates: readonly H[];
  effectiveWeight: number;
}

export class PrioritySet<H extends HealthAwareHost> {
  private readonly groups: Group<H>[];
  /** Per priority: its groups and its load (percent). */
  private levels: Array<{ groups: Group<H>[]; load: number; weightSum: number }> = [];
  private dirty = true;

  constructor(
    groups: ReadonlyArray<{ priority: number; weight: number; hosts: readonly H[] }>,
    private readonly minHealthPercent: number,
    makeBalancer: () => LoadBalancer,
  ) {
    this.groups = groups.map((g) => ({ ...g, balancer: makeBalancer(), candidates: g.hosts, effectiveWeight: g.weight }));
  }

  healthChanged(): void {
    this.dirty = true;
  }

  /** Each priority's share of the traffic, in percent (for tests and the admin view). */
  loads(): number[] {
    if (this.dirty) this.recompute();
    return this.levels.map((l) => l.load);
  }

  pick(ctx: PickContext): H | undefined {
    if (this.dirty) this.recompute();
    let r = ctx.random() * 100;
    const level = this.levels.find((l) => l.load > 0 && (r -= l.load) < 0) ?? this.levels.findLast((l) => l.load > 0);
    if (level === undefined) return undefined;
    let group = level.groups[0];
    if (level.groups.length > 1) {
      let w = ctx.random() * level.weightSum;
      group = level.groups.find((g) => g.effectiveWeight > 0 && (w -= g.effectiveWeight) < 0) ?? level.groups.findLast((g) => g.effectiveWeight > 0);
    }
    if (group === undefined || group.candidates.length === 0) return undefined;
    return group.balancer.pick(group.candidates, ctx);
  }

  private recompute(): void {
    this.dirty = false;
    let total = 0;
    let healthy = 0;
    for (const g of this.groups) {
      total += g.hosts.length;
      for (const h of g.hosts) if (!h.ejected) healthy++;
    }
    const panic = total > 0 && (100 * healthy) / total < this.minHealthPercent;
    const byPriority = new Map<number, { groups: Group<H>[]; healthy: number; total: number }>();
    for (const g of this.groups) {
      const up = panic ? g.hosts : g.hosts.filter((h) => !h.ejected);
      g.candidates = up.length === g.hosts.length ? g.hosts : up;
      g.effectiveWeight = g.hosts.length === 0 ? 0 : g.weight * Math.min(1, (OVERPROVISIONING_FACTOR * up.length) / g.hosts.length);
      const level = byPriority.get(g.priority) ?? { groups: [], healthy: 0, total: 0 };
      level.groups.push(g);
      level.healthy += up.length;
      level.total += g.hosts.length;
      byPriority.set(g.priority, level);
    }
    const ordered = [...byPriority.entries()].sort(([a], [b]) => a - b).map(([, l]) => l);
    const health = ordered.map((l) => (l.total === 0 ? 0 : Math.min(100, (OVERPROVISIONING_FACTOR * 100 * l.healthy) / l.total)));
    const sum = Math.min(100, health.reduce((a, b) => a + b, 0));
    let left = 100;
    this.levels = ordered.map((l, i) => {
      const load = sum === 0 ? 0 : Math.min(left, (health[i]! * 100) / sum);
      left -= load;
      return { groups: l.groups, load, weightSum: l.groups.reduce((n, g) => n + g.effectiveWeight, 0) };
    });
  }
}
