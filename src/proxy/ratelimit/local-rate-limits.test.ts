/**
 * The buckets outlive the compiled config: a push that keeps a policy keeps its buckets, one that changes a limit
 * starts it afresh, a removed policy's buckets go, and each app port finds its own policy.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRateLimits } from './compiled-rate-limit.js';
import { LocalRateLimits } from './local-rate-limits.js';
import type { LocalRateLimitConfig } from '../../proxyconfig/types.js';

const A = 'spiffe://cluster.local/ns/default/sa/a';

function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const policy = (name: string, identity: number, port?: number): LocalRateLimitConfig => ({ policy: `default/${name}`, identity, overrides: [], ...(port === undefined ? {} : { port }) });

describe('LocalRateLimits across config pushes', () => {
  test('a push that leaves the policy as it was keeps its buckets', () => {
    const clock = fakeClock();
    const limits = new LocalRateLimits(clock.now);
    const before = compileRateLimits([policy('rl', 2)]);
    assert.equal(limits.check(before, 8080, A), undefined);
    assert.equal(limits.check(before, 8080, A), undefined);
    // A new config (another policy added elsewhere): same policy, new objects.
    const after = compileRateLimits([policy('rl', 2), policy('other', 1, 9090)]);
    assert.notEqual(after, before);
    assert.deepEqual(limits.check(after, 8080, A), { policy: 'default/rl', scope: 'identity' });
    clock.advance(500);
    assert.equal(limits.check(after, 8080, A), undefined, 'refills on the same clock');
  });

  test('a push that changes a limit starts the policy afresh', () => {
    const limits = new LocalRateLimits(fakeClock().now);
    const before = compileRateLimits([policy('rl', 1)]);
    assert.equal(limits.check(before, 8080, A), undefined);
    assert.deepEqual(limits.check(before, 8080, A), { policy: 'default/rl', scope: 'identity' });
    const after = compileRateLimits([policy('rl', 3)]);
    assert.deepEqual([limits.check(after, 8080, A), limits.check(after, 8080, A), limits.check(after, 8080, A)], [undefined, undefined, undefined]);
    assert.deepEqual(limits.check(after, 8080, A), { policy: 'default/rl', scope: 'identity' });
  });

  test('buckets of a policy gone from the config are dropped at the next check', () => {
    const limits = new LocalRateLimits(fakeClock().now);
    const both = compileRateLimits([policy('a', 1, 8080), policy('b', 1, 9090)]);
    limits.check(both, 8080, A);
    limits.check(both, 9090, A);
    assert.equal(limits.policies, 2);
    const onlyB = compileRateLimits([policy('b', 1, 9090)]);
    assert.deepEqual(limits.check(onlyB, 9090, A), { policy: 'default/b', scope: 'identity' }, 'b kept its state');
    assert.equal(limits.policies, 1);
  });

  test('when the last policy goes, the next request drops every bucket', () => {
    const limits = new LocalRateLimits(fakeClock().now);
    limits.check(compileRateLimits([policy('a', 1, 8080)]), 8080, A);
    assert.equal(limits.policies, 1);
    assert.equal(limits.check(compileRateLimits([]), 8080, A), undefined);
    assert.equal(limits.policies, 0);
  });

  test('a port-specific policy governs its port; the port-less one every other port, with one budget', () => {
    const limits = new LocalRateLimits(fakeClock().now);
    const c = compileRateLimits([policy('admin', 1, 9090), policy('rest', 2)]);
    assert.equal(limits.check(c, 9090, A), undefined);
    assert.deepEqual(limits.check(c, 9090, A), { policy: 'default/admin', scope: 'identity' });
    assert.equal(limits.check(c, 8080, A), undefined);
    assert.equal(limits.check(c, 8081, A), undefined);
    assert.deepEqual(limits.check(c, 8080, A), { policy: 'default/rest', scope: 'identity' });
  });

  test('a port no policy reaches is not limited and creates no state', () => {
    const limits = new LocalRateLimits(fakeClock().now);
    const c = compileRateLimits([policy('admin', 1, 9090)]);
    for (let i = 0; i < 10; i++) assert.equal(limits.check(c, 8080, A), undefined);
    assert.equal(limits.policies, 0);
  });
});
