/**
 * The load-balancer contract: given the hosts a request may go to (already narrowed to the healthy ones, or all of
 * them in panic mode, by HostSet) pick one. Randomness comes from the context so tests are deterministic; a
 * balancer keeps only its own position or table, never per-request allocations.
 */

/** What a balancer may read of a host. */
export interface BalanceHost {
  readonly address: string;
  /** Requests in flight to this host (LEAST_REQUEST's measure). */
  readonly activeRequests: number;
  /** When the host joined its cluster (clock ms), for warmup; undefined or -Infinity: warm from the start. */
  readonly addedAt?: number;
}

export interface PickContext {
  /** Uniform in [0, 1). */
  random(): number;
  /** The request's hash for consistent hashing (see hash-key.ts); undefined: none, so a random point is used. */
  hashKey: number | undefined;
  /** PASSTHROUGH only: the address the client dialled. */
  originalAddress?: string | undefined;
}

export interface LoadBalancer {
  /** undefined: no host (an empty set, or PASSTHROUGH to an address outside it). */
  pick<H extends BalanceHost>(hosts: readonly H[], ctx: PickContext): H | undefined;
}
