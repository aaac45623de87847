/**
 * The LocalRateLimitPolicies of a ProxyConfig compiled once: rates ready for GCRA, overrides indexed by caller, and
 * the policy for each app port. Immutable like the rest of a compiled config; the buckets live elsewhere
 * (local-rate-limits.ts), found again by `key` after a push.
 */
import type { LocalRateLimitConfig } from '../../proxyconfig/types.js';
import { gcraRate } from './gcra.js';
import type { GcraRate } from './gcra.js';

export interface CompiledRateLimit {
  /** The policy and every limit in it: equal keys mean equal policies, so a push that keeps the policy keeps its buckets. */
  readonly key: string;
  /** `namespace/name`, for metrics and the access log. */
  readonly policy: string;
  readonly total: GcraRate | undefined;
  readonly identity: GcraRate | undefined;
  readonly overrides: readonly GcraRate[];
  /** Caller SPIFFE ID → index into `overrides`. */
  readonly overrideOf: ReadonlyMap<string, number>;
}

export interface CompiledRateLimits {
  readonly byPort: ReadonlyMap<number, CompiledRateLimit>;
  /** The policy for app ports no entry names. */
  readonly otherPorts: CompiledRateLimit | undefined;
  /** Every key in force, so the buckets of policies no longer in the config can be dropped. */
  readonly keys: ReadonlySet<string>;
}

export const NO_RATE_LIMITS: CompiledRateLimits = { byPort: new Map(), otherPorts: undefined, keys: new Set() };

export function compileRateLimits(entries: readonly LocalRateLimitConfig[] | undefined): CompiledRateLimits {
  if (!entries || entries.length === 0) return NO_RATE_LIMITS;
  const byKey = new Map<string, CompiledRateLimit>();
  const byPort = new Map<number, CompiledRateLimit>();
  let otherPorts: CompiledRateLimit | undefined;
  for (const entry of entries) {
    // The port is not part of the policy's identity: a port-less policy governs all its ports with one budget.
    const { port, ...limits } = entry;
    const key = JSON.stringify(limits);
    let compiled = byKey.get(key);
    if (!compiled) {
      compiled = compileOne(key, limits);
      byKey.set(key, compiled);
    }
    if (port === undefined) otherPorts = compiled;
    else byPort.set(port, compiled);
  }
  return { byPort, otherPorts, keys: new Set(byKey.keys()) };
}

function compileOne(key: string, c: Omit<LocalRateLimitConfig, 'port'>): CompiledRateLimit {
  const overrideOf = new Map<string, number>();
  c.overrides.forEach((o, i) => {
    for (const client of o.clients) if (!overrideOf.has(client)) overrideOf.set(client, i);
  });
  return {
    key,
    policy: c.policy,
    total: c.total === undefined ? undefined : gcraRate(c.total),
    identity: c.identity === undefined ? undefined : gcraRate(c.identity),
    overrides: c.overrides.map((o) => gcraRate(o.requestsPerSecond)),
    overrideOf,
  };
}

export function rateLimitFor(limits: CompiledRateLimits, appPort: number): CompiledRateLimit | undefined {
  return limits.byPort.get(appPort) ?? limits.otherPorts;
}
