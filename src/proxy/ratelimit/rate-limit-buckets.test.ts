/**
 * The limiter on fake time: burst, steady rate, refill, identities independent of each other, the total shared by
 * all, overrides (and the budget their clients share), refused requests charging nothing, and the bound on the
 * identity map. Times are microseconds, as the limiter keeps them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRateLimits } from './compiled-rate-limit.js';
import type { CompiledRateLimit } from './compiled-rate-limit.js';
import { RateLimitBuckets } from './rate-limit-buckets.js';
import type { RateLimitScope } from './rate-limit-buckets.js';
import { gcraRate } from './gcra.js';
import type { LocalRateLimitConfig } from '../../proxyconfig/types.js';

const A = 'spiffe://cluster.local/ns/default/sa/a';
const B = 'spiffe://cluster.local/ns/default/sa/b';
const C = 'spiffe://cluster.local/ns/default/sa/c';
const MS = 1000;

function limit(c: Omit<LocalRateLimitConfig, 'policy' | 'overrides'> & { overrides?: LocalRateLimitConfig['overrides'] }): CompiledRateLimit {
  return compileRateLimits([{ policy: 'default/rl', overrides: [], ...c }]).otherPorts!;
}

/** `n` requests from `peer` at `now`; what each got (undefined: admitted). */
function burst(b: RateLimitBuckets, l: CompiledRateLimit, peer: string | undefined, n: number, now: number): (RateLimitScope | undefined)[] {
  return Array.from({ length: n }, () => b.check(l, peer, now));
}

const admitted = (n: number): undefined[] => Array.from({ length: n }, () => undefined);

describe('GCRA rates', () => {
  test('one cell every 1/R s, a burst of R (governor\'s Quota::per_second)', () => {
    assert.deepEqual(gcraRate(5), { intervalUs: 200_000, toleranceUs: 800_000 });
    assert.deepEqual(gcraRate(1), { intervalUs: 1_000_000, toleranceUs: 0 });
    // Rounded down to whole microseconds, as governor rounds to nanoseconds.
    assert.deepEqual(gcraRate(3), { intervalUs: 333_333, toleranceUs: 666_666 });
  });

  test('a rate that is not a positive integer is a caller\'s bug', () => {
    assert.throws(() => gcraRate(0), TypeError);
    assert.throws(() => gcraRate(1.5), TypeError);
  });
});

describe('per identity limit', () => {
  const l = limit({ identity: 5 });

  test('a burst of R is admitted at once and the next is refused', () => {
    const b = new RateLimitBuckets(100);
    assert.deepEqual(burst(b, l, A, 6, 0), [...admitted(5), 'identity']);
  });

  test('after the burst, one request per interval: refused a microsecond early, admitted on time', () => {
    const b = new RateLimitBuckets(100);
    burst(b, l, A, 5, 0);
    for (let i = 1; i <= 10; i++) {
      assert.equal(b.check(l, A, i * 200 * MS - 1), 'identity', `request ${i} early`);
      assert.equal(b.check(l, A, i * 200 * MS), undefined, `request ${i} on time`);
    }
  });

  test('refill: idle time earns back one request per interval, up to the burst and no more', () => {
    const b = new RateLimitBuckets(100);
    burst(b, l, A, 5, 0);
    assert.deepEqual(burst(b, l, A, 3, 400 * MS), [undefined, undefined, 'identity']);
    // Ten idle seconds still earn only a burst of five.
    assert.deepEqual(burst(b, l, A, 6, 10_400 * MS), [...admitted(5), 'identity']);
  });

  test('each identity has its own budget', () => {
    const b = new RateLimitBuckets(100);
    assert.deepEqual(burst(b, l, A, 6, 0), [...admitted(5), 'identity']);
    assert.deepEqual(burst(b, l, B, 6, 0), [...admitted(5), 'identity']);
    assert.equal(b.check(l, A, 0), 'identity');
  });

  test('callers without an identity share one budget (Linkerd: all unmeshed sources are one source)', () => {
    const b = new RateLimitBuckets(100);
    assert.deepEqual(burst(b, l, undefined, 6, 0), [...admitted(5), 'identity']);
    assert.equal(b.check(l, A, 0), undefined);
  });
});

describe('total limit', () => {
  test('every caller draws on it', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ total: 3, identity: 2 });
    assert.equal(b.check(l, A, 0), undefined);
    assert.equal(b.check(l, B, 0), undefined);
    assert.equal(b.check(l, C, 0), undefined);
    assert.equal(b.check(l, undefined, 0), 'total');
    assert.equal(b.check(l, A, 333_333), undefined, 'one interval later, room for one more');
  });

  test('alone, without an identity limit', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ total: 2 });
    assert.deepEqual([b.check(l, A, 0), b.check(l, B, 0), b.check(l, C, 0)], [undefined, undefined, 'total']);
  });

  test('a request refused by its identity limit does not spend the total', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ total: 10, identity: 2 });
    // A goes far over its own limit...
    assert.deepEqual(burst(b, l, A, 20, 0), [...admitted(2), ...Array.from({ length: 18 }, () => 'identity')]);
    // ...and the other callers still have the eight the total had left.
    const others = ['b', 'c', 'd', 'e'].flatMap((sa) => burst(b, l, `spiffe://cluster.local/ns/default/sa/${sa}`, 2, 0));
    assert.deepEqual(others, admitted(8));
    assert.equal(b.check(l, 'spiffe://cluster.local/ns/default/sa/f', 0), 'total');
  });
});

describe('overrides', () => {
  test('a named client gets its override instead of the identity limit', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ identity: 2, overrides: [{ requestsPerSecond: 10, clients: [A] }] });
    assert.deepEqual(burst(b, l, A, 11, 0), [...admitted(10), 'override']);
    assert.deepEqual(burst(b, l, B, 3, 0), [undefined, undefined, 'identity']);
  });

  test('the clients of one override share its budget; another override has its own', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ overrides: [{ requestsPerSecond: 3, clients: [A, B] }, { requestsPerSecond: 1, clients: [C] }] });
    assert.deepEqual([b.check(l, A, 0), b.check(l, A, 0), b.check(l, B, 0), b.check(l, B, 0)], [undefined, undefined, undefined, 'override']);
    assert.deepEqual([b.check(l, C, 0), b.check(l, C, 0)], [undefined, 'override']);
  });

  test('callers no override names are not limited when the policy has no identity limit', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ overrides: [{ requestsPerSecond: 1, clients: [A] }] });
    assert.deepEqual(burst(b, l, B, 50, 0), admitted(50));
    assert.deepEqual(burst(b, l, undefined, 50, 0), admitted(50));
  });

  test('an override still draws on the total', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ total: 4, overrides: [{ requestsPerSecond: 4, clients: [A] }] });
    assert.deepEqual([b.check(l, B, 0), b.check(l, B, 0)], [undefined, undefined]);
    assert.deepEqual(burst(b, l, A, 3, 0), [undefined, undefined, 'total']);
  });

  test('a refused override spends neither the total nor itself', () => {
    const b = new RateLimitBuckets(100);
    const l = limit({ total: 5, overrides: [{ requestsPerSecond: 1, clients: [A] }] });
    assert.deepEqual(burst(b, l, A, 5, 0), [undefined, 'override', 'override', 'override', 'override']);
    assert.deepEqual(burst(b, l, B, 5, 0), [...admitted(4), 'total']);
  });
});

describe('the identity map is bounded', () => {
  const l = limit({ identity: 1 });

  test('it never holds more than its capacity, forgetting the least recently used', () => {
    const b = new RateLimitBuckets(3);
    for (const peer of [A, B, C]) assert.equal(b.check(l, peer, 0), undefined);
    // A is used again (refused, so its budget is unchanged but it is recent)...
    assert.equal(b.check(l, A, 0), 'identity');
    assert.equal(b.identities, 3);
    // ...so a fourth identity pushes out B, the least recently used.
    assert.equal(b.check(l, 'spiffe://cluster.local/ns/default/sa/d', 0), undefined);
    assert.equal(b.identities, 3);
    assert.equal(b.check(l, B, 0), undefined, 'B was forgotten: a fresh burst, the price of the bound');
    assert.equal(b.check(l, A, 0), 'identity', 'A was remembered');
  });

  test('many identities never grow it past the bound', () => {
    const b = new RateLimitBuckets(50);
    for (let i = 0; i < 1000; i++) b.check(l, `spiffe://cluster.local/ns/n/sa/s${i}`, i);
    assert.equal(b.identities, 50);
  });
});
