/**
 * The order in which a proxy tries the control-plane replicas it is given: rendezvous (highest random weight)
 * hashing of its namespace and service account over the replicas' places in the list. Every proxy is given the same
 * list; without an order of their own they would all use its first replica and leave the others idle.
 *
 * Keyed by service account rather than by pod: the pods of one workload get the same config sections (the same
 * Sidecar, the same namespace), so on one replica those sections are compiled, diffed and serialised once instead
 * of once on each replica: with a Sidecar per workload and 2,000 proxies on 3 replicas, a change took the replicas
 * less CPU and reached the last proxy sooner than with the pods spread one by one (bench/RESULTS.md). The cost is
 * balance: a service account with many pods puts all of them on one replica.
 *
 * Places rather than addresses are hashed, so the order is the same wherever the list is (tests and the bench
 * predict it), and a replica added at the end takes proxies only from the others' shares, a k-th of them each.
 */
import { createHash } from 'node:crypto';

/** The rendezvous weight of one replica place for one proxy. */
function weight(key: string, place: number): bigint {
  return createHash('sha256').update(`${key}\n${place}`).digest().readBigUInt64BE(0);
}

/** The key a proxy's replica order is hashed from. */
export function replicaKey(namespace: string, serviceAccount: string): string {
  return `${namespace}/${serviceAccount}`;
}

/** `urls` in the order this proxy tries them: its own replica first, then where it fails over to, in turn. */
export function replicaOrder<T>(urls: readonly T[], key: string): T[] {
  return urls
    .map((url, place) => ({ url, w: weight(key, place) }))
    .sort((a, b) => (a.w === b.w ? 0 : a.w > b.w ? -1 : 1))
    .map((e) => e.url);
}
