/**
 * Warmup (Istio's `warmup`, legacy `warmupDurationSecs`) as Envoy's slow start, for ROUND_ROBIN and LEAST_REQUEST:
 * a host added less than `duration` ago gets the weight
 *   max(minimumPercent / 100, (time since added / duration) ^ (1 / aggression))
 * and the others weight 1, so a new host's share grows from `minimumPercent` to a full share over the window.
 * With weights, round robin becomes smooth weighted round robin (each pick: every host gains its weight, the one
 * with most credit is taken and pays the total; Envoy's EDF gives the same shares) and least request takes a
 * weighted draw on weight / (requests in flight + 1) (Envoy's active-request bias 1.0). While no host is warming
 * the inner balancer picks unchanged, so the cost is paid only during a window. Time is the injected clock.
 * Hosts present when the cluster was first built are not warming: slow start is for endpoints that join later.
 */
import type { Clock } from '../../clock.js';
import type { TrafficPolicyConfig } from '../../proxyconfig/types.js';
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';

export type WarmupPolicy = NonNullable<TrafficPolicyConfig['warmup']>;

/** A host's weight under warmup at `now`: 1 once the window is over. */
export function warmupWeight(addedAt: number, now: number, w: WarmupPolicy): number {
  const age = now - addedAt;
  if (!(age < w.durationMs)) return 1;
  const ramp = Math.pow(Math.max(0, age) / w.durationMs, 1 / w.aggression);
  return Math.max(w.minimumPercent / 100, ramp);
}

export class SlowStartBalancer implements LoadBalancer {
  /** Smooth weighted round robin credit per host address. */
  private readonly credit = new Map<string, number>();

  constructor(
    private readonly inner: LoadBalancer,
    private readonly kind: 'ROUND_ROBIN' | 'LEAST_REQUEST',
    private readonly warmup: WarmupPolicy,
    private readonly clock: Clock,
  ) {}

  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    const now = this.clock.now();
    let warming = false;
    for (const h of hosts) if (h.addedAt !== undefined && now - h.addedAt < this.warmup.durationMs) warming = true;
    if (!warming) {
      if (this.credit.size > 0) this.credit.clear();
      return this.inner.pick(hosts, ctx);
    }
    return this.kind === 'ROUND_ROBIN' ? this.smoothRoundRobin(hosts, now) : this.weightedLeastRequest(hosts, ctx, now);
  }

  private weightOf(h: BalanceHost, now: number): number {
    return h.addedAt === undefined ? 1 : warmupWeight(h.addedAt, now, this.warmup);
  }

  private smoothRoundRobin<H extends BalanceHost>(hosts: readonly H[], now: number): H | undefined {
    let total = 0;
    let best: H | undefined;
    let bestCredit = -Infinity;
    for (const h of hosts) {
      const w = this.weightOf(h, now);
      total += w;
      const c = (this.credit.get(h.address) ?? 0) + w;
      this.credit.set(h.address, c);
      if (c > bestCredit) {
        bestCredit = c;
        best = h;
      }
    }
    if (best !== undefined) this.credit.set(best.address, bestCredit - total);
    return best;
  }

  private weightedLeastRequest<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext, now: number): H | undefined {
    let total = 0;
    for (const h of hosts) total += this.weightOf(h, now) / (h.activeRequests + 1);
    let r = ctx.random() * total;
    for (const h of hosts) {
      r -= this.weightOf(h, now) / (h.activeRequests + 1);
      if (r < 0) return h;
    }
    return hosts[hosts.length - 1];
  }
}
