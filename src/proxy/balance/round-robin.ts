/** ROUND_ROBIN: each host in turn. The first position is random so that many proxies do not all start on host 0. */
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';

export class RoundRobinBalancer implements LoadBalancer {
  private next = -1;

  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    const n = hosts.length;
    if (n === 0) return undefined;
    if (this.next < 0) this.next = Math.floor(ctx.random() * n);
    const host = hosts[this.next % n];
    this.next = (this.next + 1) % 0x40000000;
    return host;
  }
}
