/** RANDOM: any host, uniformly. */
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';

export class RandomBalancer implements LoadBalancer {
  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    return hosts.length === 0 ? undefined : hosts[Math.floor(ctx.random() * hosts.length)];
  }
}
