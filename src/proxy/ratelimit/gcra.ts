/**
 * The Generic Cell Rate Algorithm (GCRA), the rate limiter Linkerd's proxy uses (through the `governor` crate), on
 * the injected clock. Hand-written: it is a few lines, and the common Node limiters (rate-limiter-flexible's memory
 * limiter, `limiter`) read the system clock themselves, so they cannot run on fake time, and the former counts in
 * fixed windows, which admit up to twice the rate across a window's edge.
 *
 * Why GCRA rather than a token bucket: the two admit exactly the same requests, but GCRA keeps one number per key
 * (the theoretical arrival time, TAT: when the key's budget would be whole again), with no refill to schedule or
 * compute, so a bucket per caller identity costs one map entry, and an entry whose TAT has passed carries no
 * information at all: forgetting it changes nothing, which is what lets the per-identity map be bounded cheaply.
 *
 * A rate of R requests per second emits one cell every 1/R s and tolerates a burst of R (governor's
 * `Quota::per_second`, so weft's limits mean what Linkerd's do): a request at `now` is admitted while
 * TAT − now ≤ (R − 1)/R s, and moves TAT one interval on. Time is kept in whole microseconds so the comparison is
 * exact; the interval is rounded down, as governor's nanoseconds are.
 */

export interface GcraRate {
  /** Microseconds between cells: 1 s / requests per second. */
  readonly intervalUs: number;
  /** How far TAT may run ahead of now and still admit: (burst − 1) intervals. */
  readonly toleranceUs: number;
}

export function gcraRate(requestsPerSecond: number): GcraRate {
  if (!Number.isInteger(requestsPerSecond) || requestsPerSecond < 1) throw new TypeError(`requests per second must be a positive integer, got ${requestsPerSecond}`);
  const intervalUs = Math.max(1, Math.floor(1_000_000 / requestsPerSecond));
  return { intervalUs, toleranceUs: intervalUs * (requestsPerSecond - 1) };
}

/** The TAT after admitting one request at `nowUs`, or undefined when the request must be refused (state unchanged). */
export function gcraAdmit(tatUs: number | undefined, nowUs: number, rate: GcraRate): number | undefined {
  const tat = tatUs === undefined || tatUs < nowUs ? nowUs : tatUs;
  return tat - nowUs > rate.toleranceUs ? undefined : tat + rate.intervalUs;
}

