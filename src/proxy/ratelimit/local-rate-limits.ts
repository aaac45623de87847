/**
 * The runtime side of local rate limiting: the buckets of every policy a sidecar enforces, kept outside the compiled
 * config (which is replaced whole on every push) and keyed by the policy and its limits, so a push that leaves a
 * policy as it was keeps its buckets, and one that changes a limit starts the policy afresh. Buckets of policies gone
 * from the config are dropped at the first request checked under the new config.
 */
import type { CompiledRateLimits } from './compiled-rate-limit.js';
import { rateLimitFor } from './compiled-rate-limit.js';
import { RateLimitBuckets } from './rate-limit-buckets.js';
import type { RateLimitScope } from './rate-limit-buckets.js';

export interface RateLimitVerdict {
  policy: string;
  scope: RateLimitScope;
}

/** Enough for every identity of a large mesh calling one workload; about 100 bytes each. */
const DEFAULT_IDENTITY_CAPACITY = 10_000;

export class LocalRateLimits {
  readonly #buckets = new Map<string, RateLimitBuckets>();
  #retained: CompiledRateLimits | undefined;

  /** `nowMs`: a monotonic clock in milliseconds (performance.now), injected so tests run on fake time. */
  constructor(
    private readonly nowMs: () => number,
    private readonly identityCapacity = DEFAULT_IDENTITY_CAPACITY,
  ) {}

  /** Policies with buckets (for tests of retention). */
  get policies(): number {
    return this.#buckets.size;
  }

  /**
   * Admit one request for `appPort` from `peer` (its verified SPIFFE ID; undefined for plaintext) under the policies
   * of the config in force, or say which policy and limit refused it. No policy for the port admits everything.
   */
  check(limits: CompiledRateLimits, appPort: number, peer: string | undefined): RateLimitVerdict | undefined {
    if (limits !== this.#retained) this.#retain(limits);
    const limit = rateLimitFor(limits, appPort);
    if (!limit) return undefined;
    let buckets = this.#buckets.get(limit.key);
    if (!buckets) {
      buckets = new RateLimitBuckets(this.identityCapacity);
      this.#buckets.set(limit.key, buckets);
    }
    const scope = buckets.check(limit, peer, Math.floor(this.nowMs() * 1000));
    return scope === undefined ? undefined : { policy: limit.policy, scope };
  }

  #retain(limits: CompiledRateLimits): void {
    this.#retained = limits;
    for (const key of this.#buckets.keys()) if (!limits.keys.has(key)) this.#buckets.delete(key);
  }
}
