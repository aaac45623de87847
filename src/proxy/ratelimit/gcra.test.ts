/**
 * GCRA against the token bucket it stands in for: on any sequence of request times, a bucket of R tokens refilled at
 * R per second admits exactly the requests GCRA admits. The model counts in whole microseconds of refill (rates that
 * divide a second evenly), so the two are compared exactly, refusals included: a refused request takes no token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gcraAdmit, gcraRate } from './gcra.js';
import { fuzzRuns } from '../../../test/support/fuzz.js';

/** A token bucket with its tokens counted in microseconds of refill: one token is 1e6/R of them. */
class TokenBucket {
  readonly #token: number;
  readonly #capacity: number;
  #level: number;
  #last: number | undefined;

  constructor(requestsPerSecond: number) {
    this.#token = 1_000_000 / requestsPerSecond;
    this.#capacity = this.#token * requestsPerSecond;
    this.#level = this.#capacity;
  }

  take(nowUs: number): boolean {
    if (this.#last !== undefined) this.#level = Math.min(this.#capacity, this.#level + (nowUs - this.#last));
    this.#last = nowUs;
    if (this.#level < this.#token) return false;
    this.#level -= this.#token;
    return true;
  }
}

// Rates whose interval is a whole number of microseconds, so neither side rounds.
const RATES = [1, 2, 4, 5, 8, 10, 16, 20, 25, 50, 100, 1000];

test('GCRA admits exactly what a token bucket of the same rate and burst admits', () => {
  fc.assert(
    fc.property(fc.constantFrom(...RATES), fc.array(fc.integer({ min: 0, max: 400_000 }), { maxLength: 300 }), (rps, gaps) => {
      const rate = gcraRate(rps);
      const bucket = new TokenBucket(rps);
      let tat: number | undefined;
      let now = 5_000_000;
      gaps.forEach((gap, i) => {
        now += gap;
        const next = gcraAdmit(tat, now, rate);
        assert.equal(next !== undefined, bucket.take(now), `request ${i} at ${now}us, ${rps} rps`);
        if (next !== undefined) tat = next;
      });
    }),
    fuzzRuns(300),
  );
});

test('in any one second, at most 2R − 1 requests pass (a burst of R, then R − 1 more as it refills)', () => {
  fc.assert(
    fc.property(fc.constantFrom(...RATES), fc.array(fc.integer({ min: 0, max: 50_000 }), { maxLength: 400 }), (rps, gaps) => {
      const rate = gcraRate(rps);
      let tat: number | undefined;
      let now = 0;
      const admitted: number[] = [];
      for (const gap of gaps) {
        now += gap;
        const next = gcraAdmit(tat, now, rate);
        if (next !== undefined) {
          tat = next;
          admitted.push(now);
        }
      }
      for (let i = 0, j = 0; i < admitted.length; i++) {
        while (admitted[i]! - admitted[j]! >= 1_000_000) j++;
        assert.ok(i - j + 1 <= 2 * rps - 1, `${i - j + 1} requests within one second at ${rps} rps`);
      }
    }),
    fuzzRuns(300),
  );
});
