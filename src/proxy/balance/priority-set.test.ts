/**
 * Priority levels on fake time, through the endpoint registry as the proxy runs them: with two local endpoints (P0)
 * and two in another zone (P1), all traffic stays local while both are healthy; one ejected leaves P0 at
 * 1.4 × 50% = 70% and 30% spills to P1; both ejected send everything to P1; when the ejection time is over they
 * come back and P0 takes it all again. Envoy's overprovisioning factor 1.4 is what the shares are made of.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterConfig, Endpoint, OutlierDetectionPolicy, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { EndpointRegistry } from './endpoint-registry.js';
import { placeEndpoints } from './locality-placement.js';
import { FakeClock, seededRandom } from './fake-clock.fixture.js';
import { PrioritySet } from './priority-set.js';
import { RoundRobinBalancer } from './round-robin.js';

const OUTLIER: OutlierDetectionPolicy = {
  consecutive5xx: 1,
  consecutiveGatewayErrors: 0,
  consecutiveLocalOriginFailures: 5,
  splitExternalLocalOriginErrors: false,
  intervalMs: 1000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  minHealthPercent: 0,
};
const NAME = 'outbound|9080||reviews.default.svc.cluster.local';
const LOCAL = ['198.18.0.1', '198.18.0.2'];
const REMOTE = ['198.18.1.1', '198.18.1.2'];
const PROXY = { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z1' };

function endpoints(): Map<string, Endpoint> {
  const ep = (address: string, locality: string): [string, Endpoint] => [address, { address, inboundPort: 15006, targetPort: 9080, spiffeId: 's', mtls: true, workload: `d/${address}`, locality }];
  return new Map([...LOCAL.map((a) => ep(a, 'r1/z1')), ...REMOTE.map((a) => ep(a, 'r1/z2'))]);
}

function setup(policy: TrafficPolicyConfig = { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'ROUND_ROBIN' }, outlierDetection: OUTLIER }) {
  const clock = new FakeClock();
  const registry = new EndpointRegistry(clock);
  const config: ClusterConfig = { name: NAME, host: 'reviews.default.svc.cluster.local', port: 9080, subset: null, labels: {}, destinationRules: ['default/reviews'], policy };
  const placement = placeEndpoints(policy, PROXY, endpoints());
  registry.apply([{ config, addresses: [...LOCAL, ...REMOTE], ...(placement && { placement }) }]);
  const cluster = registry.cluster(NAME)!;
  const ctx = { random: seededRandom(7), hashKey: undefined };
  const share = (n = 10_000): number => {
    let remote = 0;
    for (let i = 0; i < n; i++) if (REMOTE.includes(cluster.pick(ctx)!.address)) remote++;
    return remote / n;
  };
  const eject = (address: string): void => cluster.outlierDetector!.reportStatus(registry.endpoint(NAME, address)!, 503);
  return { clock, registry, cluster, share, eject };
}

describe('priority levels with outlier detection (fake time)', () => {
  test('all healthy: every pick local', () => {
    const { cluster, share } = setup();
    assert.deepEqual(cluster.priorityLoads(), [100, 0]);
    assert.equal(share(), 0);
  });
  test('one local ejected: 70% stays local, 30% spills to the next priority', () => {
    const { cluster, share, eject } = setup();
    eject(LOCAL[0]!);
    assert.deepEqual(cluster.priorityLoads()?.map((l) => Math.round(l)), [70, 30]);
    const s = share();
    assert.ok(Math.abs(s - 0.3) < 0.02, `remote share ${s}`);
  });
  test('both local ejected: everything to the next priority; back after the ejection time', () => {
    const { clock, cluster, share, eject } = setup();
    LOCAL.forEach(eject);
    assert.deepEqual(cluster.priorityLoads(), [0, 100]);
    assert.equal(share(100), 1);
    clock.advance(29_000);
    assert.equal(share(100), 1, 'still ejected before baseEjectionTime');
    clock.advance(2_000);
    assert.deepEqual(cluster.priorityLoads(), [100, 0]);
    assert.equal(share(100), 0);
  });
  test('every host ejected: no healthy upstream', () => {
    const { cluster, eject } = setup();
    [...LOCAL, ...REMOTE].forEach(eject);
    assert.equal(cluster.pick({ random: () => 0.5, hashKey: undefined }), undefined);
  });
  test('without outlier detection there are no priorities: both zones share the traffic', () => {
    const { cluster, share } = setup({ ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'ROUND_ROBIN' } });
    assert.equal(cluster.priorityLoads(), undefined);
    assert.equal(share(100), 0.5);
  });
  test('a push of the same placement keeps the groups (round robin continues)', () => {
    const { registry, cluster } = setup();
    const ctx = { random: () => 0, hashKey: undefined };
    const first = cluster.pick(ctx)!.address;
    const config = { name: NAME, host: 'reviews.default.svc.cluster.local', port: 9080, subset: null, labels: {}, destinationRules: ['default/reviews'], policy: { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'ROUND_ROBIN' as const }, outlierDetection: OUTLIER } };
    registry.apply([{ config, addresses: [...LOCAL, ...REMOTE], placement: placeEndpoints(config.policy, PROXY, endpoints())! }]);
    assert.notEqual(cluster.pick(ctx)!.address, first);
  });
});

describe('localities weighted within a priority', () => {
  test('effective weight = weight × min(1, 1.4 × healthy fraction)', () => {
    const hosts = ['a1', 'a2', 'b1', 'b2'].map((address) => ({ address, activeRequests: 0, ejected: false }));
    const set = new PrioritySet(
      [
        { priority: 0, weight: 50, hosts: hosts.slice(0, 2) },
        { priority: 0, weight: 50, hosts: hosts.slice(2) },
      ],
      0,
      () => new RoundRobinBalancer(),
    );
    const random = seededRandom(3);
    const countA = (): number => {
      let a = 0;
      for (let i = 0; i < 10_000; i++) if (set.pick({ random, hashKey: undefined })!.address.startsWith('a')) a++;
      return a / 10_000;
    };
    assert.ok(Math.abs(countA() - 0.5) < 0.02);
    hosts[0]!.ejected = true;
    set.healthChanged();
    // a: 50 × min(1, 1.4 × 0.5) = 35; b: 50. a's share is 35 / 85.
    const a = countA();
    assert.ok(Math.abs(a - 35 / 85) < 0.02, `a share ${a}`);
  });
});
