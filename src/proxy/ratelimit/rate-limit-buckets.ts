/**
 * The state of one LocalRateLimitPolicy at one sidecar: a TAT for the total, one per override, and one per caller
 * identity, checked in Linkerd's order (total, then the caller's override if it has one, else its identity limit).
 *
 * Unlike Linkerd's proxy, a refused request consumes nothing: every limit is checked first and the TATs move only
 * when all of them admit. In Linkerd the total is charged before the identity limit refuses, so one caller over its
 * own limit keeps draining the budget every other caller shares; here it cannot.
 *
 * The identity map is bounded. Identities are verified SPIFFE IDs of mesh peers, so the map stays small in practice,
 * but a bound keeps a mesh with very many callers from growing it without limit: it holds its entries in least
 * recently used order and, when full, forgets the least recently used. Forgetting an idle entry (TAT passed) changes
 * nothing; forgetting a busy one gives that caller a fresh burst, the price of the bound.
 */
import { gcraAdmit } from './gcra.js';
import type { CompiledRateLimit } from './compiled-rate-limit.js';

export type RateLimitScope = 'total' | 'identity' | 'override';

/** Key of callers without an identity (plaintext under PERMISSIVE): Linkerd treats them as a single source. */
const NO_IDENTITY = '';

export class RateLimitBuckets {
  #total: number | undefined;
  readonly #overrides: (number | undefined)[] = [];
  readonly #identities = new Map<string, number>();

  constructor(private readonly identityCapacity: number) {
    if (!(identityCapacity >= 1)) throw new TypeError('identityCapacity must be at least 1');
  }

  /** Callers remembered by the identity limit (for tests of the bound). */
  get identities(): number {
    return this.#identities.size;
  }

  /** Admit one request from `peer` at `nowUs`, or name the limit that refuses it. */
  check(limit: CompiledRateLimit, peer: string | undefined, nowUs: number): RateLimitScope | undefined {
    let total: number | undefined;
    if (limit.total) {
      total = gcraAdmit(this.#total, nowUs, limit.total);
      if (total === undefined) return 'total';
    }
    const override = peer === undefined ? undefined : limit.overrideOf.get(peer);
    if (override !== undefined) {
      const next = gcraAdmit(this.#overrides[override], nowUs, limit.overrides[override]!);
      if (next === undefined) return 'override';
      this.#overrides[override] = next;
    } else if (limit.identity) {
      const key = peer ?? NO_IDENTITY;
      const tat = this.#identities.get(key);
      const next = gcraAdmit(tat, nowUs, limit.identity);
      if (next === undefined) {
        // A caller being refused is the one to remember: forgetting it would hand it a fresh burst.
        this.#remember(key, tat!);
        return 'identity';
      }
      this.#remember(key, next);
    }
    if (total !== undefined) this.#total = total;
    return undefined;
  }

  #remember(key: string, tat: number): void {
    // Re-inserting moves the key to the end: the map's order is least recently used first. A refused request also
    // counts as a use, but its unchanged TAT is kept: the order moves, the budget does not.
    this.#identities.delete(key);
    this.#identities.set(key, tat);
    if (this.#identities.size > this.identityCapacity) {
      const oldest = this.#identities.keys().next().value as string;
      this.#identities.delete(oldest);
    }
  }
}
