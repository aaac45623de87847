/**
 * Warmup as Envoy's slow start, on fake time: the weight formula table-driven from Envoy's documented curve, then
 * through the endpoint registry as the proxy runs it: a host that joins three warm ones starts at minimumPercent
 * of a share, grows with time (faster with more aggression), and after the window is one host among four. The
 * cluster's first hosts are not warming.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig, LoadBalancerPolicy, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { EndpointRegistry } from './endpoint-registry.js';
import { FakeClock, seededRandom } from './fake-clock.fixture.js';
import { warmupWeight } from './slow-start.js';

describe('warmup weight', () => {
  const w = (minimumPercent: number, aggression: number) => ({ durationMs: 10_000, minimumPercent, aggression });
  const cases: Array<[string, number, ReturnType<typeof w>, number]> = [
    ['just added: the minimum', 0, w(10, 1), 0.1],
    ['half the window, aggression 1: linear', 5_000, w(10, 1), 0.5],
    ['half the window, aggression 2: the square root', 5_000, w(10, 2), Math.SQRT1_2],
    ['a quarter of the window, aggression 2', 2_500, w(10, 2), 0.5],
    ['early, below the minimum: the minimum', 500, w(10, 1), 0.1],
    ['minimumPercent 0 at the start', 0, w(0, 1), 0],
    ['the window over', 10_000, w(10, 1), 1],
    ['long after', 60_000, w(10, 3), 1],
  ];
  for (const [name, age, policy, want] of cases) test(name, () => assert.ok(Math.abs(warmupWeight(0, age, policy) - want) < 1e-9, `${warmupWeight(0, age, policy)}`));
});

const NAME = 'outbound|9080||reviews.default.svc.cluster.local';
const WARM = ['198.18.0.1', '198.18.0.2', '198.18.0.3'];
const NEW = '198.18.0.4';

function setup(lb: LoadBalancerPolicy['policy'] & ('ROUND_ROBIN' | 'LEAST_REQUEST'), warmup: TrafficPolicyConfig['warmup']) {
  const clock = new FakeClock();
  const registry = new EndpointRegistry(clock);
  const config: ClusterConfig = { name: NAME, host: 'reviews.default.svc.cluster.local', port: 9080, subset: null, labels: {}, destinationRules: ['default/reviews'], policy: { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: lb }, warmup } };
  registry.apply([{ config, addresses: WARM }]);
  clock.advance(60_000);
  registry.apply([{ config, addresses: [...WARM, NEW] }]);
  const cluster = registry.cluster(NAME)!;
  const ctx = { random: seededRandom(11), hashKey: undefined };
  const newShare = (n: number): number => {
    let hits = 0;
    for (let i = 0; i < n; i++) if (cluster.pick(ctx)!.address === NEW) hits++;
    return hits / n;
  };
  return { clock, newShare, registry };
}

describe('slow start through the registry (fake time)', () => {
  const warmup = { durationMs: 10_000, minimumPercent: 10, aggression: 1 };
  test('the first hosts are not warming: round robin is even from the start', () => {
    const clock = new FakeClock();
    const registry = new EndpointRegistry(clock);
    const config: ClusterConfig = { name: NAME, host: 'r', port: 9080, subset: null, labels: {}, destinationRules: [], policy: { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'ROUND_ROBIN' }, warmup } };
    registry.apply([{ config, addresses: WARM }]);
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const a = registry.cluster(NAME)!.pick({ random: () => 0, hashKey: undefined })!.address;
      seen.set(a, (seen.get(a) ?? 0) + 1);
    }
    assert.deepEqual([...seen.values()], [100, 100, 100]);
  });
  test('ROUND_ROBIN: weight 0.1 at first (0.1 / 3.1 of picks), 0.5 at half the window, an even share after', () => {
    const { clock, newShare } = setup('ROUND_ROBIN', warmup);
    assert.equal(newShare(310), 10 / 310);
    clock.advance(5_000);
    assert.ok(Math.abs(newShare(350) - 0.5 / 3.5) < 0.01);
    clock.advance(5_000);
    assert.equal(newShare(400), 0.25);
  });
  test('LEAST_REQUEST: the same shares by weighted draw, within tolerance', () => {
    const { clock, newShare } = setup('LEAST_REQUEST', warmup);
    assert.ok(Math.abs(newShare(20_000) - 0.1 / 3.1) < 0.01);
    clock.advance(5_000);
    assert.ok(Math.abs(newShare(20_000) - 0.5 / 3.5) < 0.01);
    clock.advance(5_000);
    assert.ok(Math.abs(newShare(20_000) - 0.25) < 0.01);
  });
  test('aggression 2 ramps faster: at a quarter of the window the weight is already 0.5', () => {
    const { clock, newShare } = setup('ROUND_ROBIN', { durationMs: 10_000, minimumPercent: 10, aggression: 2 });
    clock.advance(2_500);
    assert.ok(Math.abs(newShare(350) - 0.5 / 3.5) < 0.01);
  });
  test('no warmup: the new host gets its even share at once', () => {
    const { newShare } = setup('ROUND_ROBIN', null);
    assert.equal(newShare(400), 0.25);
  });
});
