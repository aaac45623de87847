/**
 * Endpoint state survives config pushes: same key, same state; gone from config, gone from the registry. Each push
 * hands over the clusters it changed (joined) and the names of those it replaced or removed (left), as
 * config/cluster-changes.ts finds them.
 */
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './fake-clock.fixture.js';
import type { ClusterConfig, LoadBalancerPolicy, OutlierDetectionPolicy, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { EndpointRegistry } from './endpoint-registry.js';
import type { ClusterEndpoints } from './endpoint-registry.js';

const UNLIMITED = 4_294_967_295;
const OUTLIER: OutlierDetectionPolicy = {
  consecutive5xx: 1,
  consecutiveGatewayErrors: 0,
  consecutiveLocalOriginFailures: 5,
  splitExternalLocalOriginErrors: false,
  intervalMs: 1000,
  baseEjectionTimeMs: 3000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  minHealthPercent: 0,
};
function policy(lb: LoadBalancerPolicy = { policy: 'ROUND_ROBIN' }, outlier: OutlierDetectionPolicy | null = OUTLIER, maxRequests = UNLIMITED): TrafficPolicyConfig {
  return { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: lb, connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, maxRequests }, outlierDetection: outlier };
}
const cluster = (host: string, addresses: string[], p = policy()): ClusterEndpoints => {
  const config: ClusterConfig = { name: `outbound|9080||${host}`, host, port: 9080, subset: null, labels: {}, destinationRules: [], policy: p };
  return { config, addresses };
};
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';
const RATINGS = 'outbound|9080||ratings.default.svc.cluster.local';
const ctx = { random: () => 0, hashKey: undefined };

function setup() {
  const clock = new FakeClock();
  const registry = new EndpointRegistry(clock);
  const reviews = ['198.18.0.1', '198.18.0.2', '198.18.0.3'];
  registry.apply([cluster('reviews.default.svc.cluster.local', reviews), cluster('ratings.default.svc.cluster.local', ['198.18.0.9'])]);
  return { clock, registry, reviews };
}

describe('endpoint registry across config pushes', () => {
  test('the same (cluster, address) after a push is the same state object', () => {
    const { registry, reviews } = setup();
    const before = registry.endpoint(REVIEWS, '198.18.0.2');
    assert.ok(before);
    before.activeRequests = 3;
    registry.apply([cluster('reviews.default.svc.cluster.local', [...reviews].reverse()), cluster('ratings.default.svc.cluster.local', ['198.18.0.9', '198.18.0.10'])], [REVIEWS, RATINGS]);
    assert.equal(registry.endpoint(REVIEWS, '198.18.0.2'), before);
    assert.equal(before.activeRequests, 3);
  });

  test('a push that changes another service resets no round-robin position', () => {
    const { registry, reviews } = setup();
    const picks = (n: number): (string | undefined)[] => Array.from({ length: n }, () => registry.cluster(REVIEWS)?.pick(ctx)?.address);
    assert.deepEqual(picks(2), ['198.18.0.1', '198.18.0.2']);
    registry.apply([cluster('reviews.default.svc.cluster.local', reviews), cluster('ratings.default.svc.cluster.local', ['198.18.0.11'])], [REVIEWS, RATINGS]);
    assert.deepEqual(picks(2), ['198.18.0.3', '198.18.0.1']);
    // A push that changes only ratings does not hand reviews over at all.
    registry.apply([cluster('ratings.default.svc.cluster.local', ['198.18.0.12'])], [RATINGS]);
    assert.deepEqual(picks(2), ['198.18.0.2', '198.18.0.3']);
  });

  test('a push un-ejects nothing: an ejected host stays out until its time is up', () => {
    const { clock, registry, reviews } = setup();
    const c = registry.cluster(REVIEWS);
    const bad = registry.endpoint(REVIEWS, '198.18.0.1');
    assert.ok(c && bad);
    c.outlierDetector?.reportStatus(bad, 503);
    assert.equal(bad.ejected, true);
    clock.advance(1000);
    registry.apply([cluster('reviews.default.svc.cluster.local', reviews), cluster('ratings.default.svc.cluster.local', [])], [REVIEWS, RATINGS]);
    const picked = new Set(Array.from({ length: 10 }, () => registry.cluster(REVIEWS)?.pick(ctx)?.address));
    assert.deepEqual([...picked].sort(), ['198.18.0.2', '198.18.0.3']);
    assert.equal(registry.endpoint(REVIEWS, '198.18.0.1')?.ejected, true);
    // The sweep timer (every interval on the clock) brings it back after baseEjectionTime.
    clock.advance(1999);
    assert.equal(bad.ejected, true);
    clock.advance(1);
    assert.equal(bad.ejected, false);
    assert.equal(registry.cluster(REVIEWS)?.hosts.length, 3);
  });

  test('in-flight counts of the breaker stay; new limits apply', () => {
    const { registry, reviews } = setup();
    assert.equal(registry.cluster(REVIEWS)?.breaker.startRequest().admitted, true);
    registry.apply([cluster('reviews.default.svc.cluster.local', reviews, policy(undefined, OUTLIER, 1))], [REVIEWS]);
    const b = registry.cluster(REVIEWS)?.breaker;
    assert.equal(b?.activeRequests, 1);
    assert.equal(b?.startRequest().admitted, false);
  });

  test('an endpoint gone from the config is dropped; back later, it starts fresh', () => {
    const { registry } = setup();
    const gone = registry.endpoint(REVIEWS, '198.18.0.3');
    assert.ok(gone);
    gone.consecutive5xx = 4;
    registry.apply([cluster('reviews.default.svc.cluster.local', ['198.18.0.1', '198.18.0.2'])], [REVIEWS]);
    assert.equal(registry.endpoint(REVIEWS, '198.18.0.3'), undefined);
    registry.apply([cluster('reviews.default.svc.cluster.local', ['198.18.0.1', '198.18.0.2', '198.18.0.3'])], [REVIEWS]);
    assert.notEqual(registry.endpoint(REVIEWS, '198.18.0.3'), gone);
    assert.equal(registry.endpoint(REVIEWS, '198.18.0.3')?.consecutive5xx, 0);
  });

  test('a cluster gone from the config is dropped and its sweep timer stopped', () => {
    const { clock, registry, reviews } = setup();
    assert.equal(clock.pending, 2);
    registry.apply([cluster('reviews.default.svc.cluster.local', reviews)], [REVIEWS, RATINGS]);
    assert.equal(registry.cluster(RATINGS), undefined);
    assert.equal(registry.endpoint(RATINGS, '198.18.0.9'), undefined);
    // The dropped cluster's timer fires once more and does not come back; the live one reschedules.
    clock.advance(1000);
    assert.equal(clock.pending, 1);
    registry.close();
    clock.advance(1000);
    assert.equal(clock.pending, 0);
    assert.equal(registry.cluster(REVIEWS), undefined);
  });

  test('a changed load-balancer policy takes a new balancer; hosts keep their state', () => {
    const { registry, reviews } = setup();
    const host = registry.endpoint(REVIEWS, '198.18.0.1');
    registry.apply([cluster('reviews.default.svc.cluster.local', reviews, policy({ policy: 'RANDOM' }))], [REVIEWS]);
    assert.equal(registry.endpoint(REVIEWS, '198.18.0.1'), host);
    assert.equal(registry.cluster(REVIEWS)?.pick({ random: () => 0.99, hashKey: undefined })?.address, '198.18.0.3');
  });

  test('outlier detection removed: ejected hosts come back, since nothing else would return them', () => {
    const { registry, reviews } = setup();
    const bad = registry.endpoint(REVIEWS, '198.18.0.1');
    assert.ok(bad);
    registry.cluster(REVIEWS)?.outlierDetector?.reportStatus(bad, 503);
    registry.apply([cluster('reviews.default.svc.cluster.local', reviews, policy(undefined, null))], [REVIEWS]);
    assert.equal(bad.ejected, false);
    assert.equal(registry.cluster(REVIEWS)?.outlierDetector, undefined);
  });

  test('a name two clusters of a config carry is kept until neither does; changed, it keeps its state', () => {
    const { clock, registry } = setup();
    const twin = cluster('ratings.default.svc.cluster.local', ['198.18.0.9']);
    registry.apply([twin]);
    const state = registry.endpoint(RATINGS, '198.18.0.9');
    registry.apply([], [RATINGS]);
    assert.equal(registry.endpoint(RATINGS, '198.18.0.9'), state);
    registry.apply([twin], [RATINGS]);
    assert.equal(registry.endpoint(RATINGS, '198.18.0.9'), state);
    registry.apply([], [RATINGS]);
    assert.equal(registry.cluster(RATINGS), undefined);
    clock.advance(1000);
    assert.equal(clock.pending, 1, 'only reviews sweeps');
  });

  test('every host ejected and no panic threshold: no healthy upstream', () => {
    const { registry } = setup();
    const c = registry.cluster(RATINGS);
    const only = registry.endpoint(RATINGS, '198.18.0.9');
    assert.ok(c && only);
    c.outlierDetector?.reportStatus(only, 503);
    assert.equal(c.pick(ctx), undefined);
  });
});
