/** PASSTHROUGH (Envoy's ORIGINAL_DST): no balancing; the connection goes where the client dialled, if that is a host. */
import type { BalanceHost, LoadBalancer, PickContext } from './balancer.js';

export class PassthroughBalancer implements LoadBalancer {
  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined {
    const want = ctx.originalAddress;
    if (want === undefined) return undefined;
    for (const h of hosts) if (h.address === want) return h;
    return undefined;
  }
}
