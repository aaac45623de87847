/** One balancer per compiled load-balancer policy; an unknown policy is a compile-time error. */
import type { Clock } from '../../clock.js';
import type { LoadBalancerPolicy } from '../../proxyconfig/types.js';
import { SlowStartBalancer } from './slow-start.js';
import type { WarmupPolicy } from './slow-start.js';
import type { LoadBalancer } from './balancer.js';
import { LeastRequestBalancer } from './least-request.js';
import { MaglevBalancer } from './maglev.js';
import { PassthroughBalancer } from './passthrough.js';
import { RandomBalancer } from './random.js';
import { RingHashBalancer } from './ring-hash.js';
import { RoundRobinBalancer } from './round-robin.js';

export function createBalancer(policy: LoadBalancerPolicy): LoadBalancer {
  switch (policy.policy) {
    case 'ROUND_ROBIN':
      return new RoundRobinBalancer();
    case 'LEAST_REQUEST':
      return new LeastRequestBalancer();
    case 'RANDOM':
      return new RandomBalancer();
    case 'PASSTHROUGH':
      return new PassthroughBalancer();
    case 'RING_HASH':
      return new RingHashBalancer(policy.minimumRingSize);
    case 'MAGLEV':
      return new MaglevBalancer(policy.tableSize);
    default: {
      const unknown: never = policy;
      throw new TypeError(`unknown load balancer policy ${JSON.stringify(unknown)}`);
    }
  }
}

/** The policy's balancer, wrapped in slow start when the rule sets warmup (ROUND_ROBIN and LEAST_REQUEST only, as Envoy). */
export function createWarmingBalancer(policy: LoadBalancerPolicy, warmup: WarmupPolicy | null, clock: Clock): LoadBalancer {
  const inner = createBalancer(policy);
  if (warmup === null || (policy.policy !== 'ROUND_ROBIN' && policy.policy !== 'LEAST_REQUEST')) return inner;
  return new SlowStartBalancer(inner, policy.policy, warmup, clock);
}
