/**
 * LEAST_REQUEST as Envoy does it for hosts of equal weight: the power of two choices. Sample two hosts at random
 * (possibly the same one) and take the one with fewer requests in flight; on a tie, the first sampled.
 */
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';

/** Envoy's default choice_count. */
const CHOICES = 2;

export class LeastRequestBalancer implements LoadBalancer {
  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    const n = hosts.length;
    if (n === 0) return undefined;
    let best = hosts[Math.floor(ctx.random() * n)] as H;
    for (let i = 1; i < CHOICES; i++) {
      const sampled = hosts[Math.floor(ctx.random() * n)] as H;
      if (sampled.activeRequests < best.activeRequests) best = sampled;
    }
    return best;
  }
}
