/**
 * Locality placement, table-driven from Istio's locality load-balancing docs: default failover by proximity (only
 * with outlier detection), `failover` to a named region, `distribute` weights, `failoverPriority` labels, and the
 * cases where nothing applies (disabled, no locality on the proxy).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, OutlierDetectionPolicy, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { localityOf } from '../../proxyconfig/locality.js';
import { placeEndpoints } from './locality-placement.js';

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
const policy = (setting: Record<string, unknown> | null, outlier: OutlierDetectionPolicy | null = OUTLIER): TrafficPolicyConfig => ({ ...DEFAULT_TRAFFIC_POLICY, localityLbSetting: setting, outlierDetection: outlier });
const ep = (address: string, locality: string | undefined, labels?: Record<string, string>): [string, Endpoint] => [
  address,
  { address, inboundPort: 15006, targetPort: 8080, spiffeId: 'spiffe://x/ns/d/sa/s', mtls: true, workload: `d/${address}`, ...(locality !== undefined && { locality }), ...(labels && { labels }) },
];
const ENDPOINTS = new Map([
  ep('a', 'us-west/zone1/sub1', { tier: 'gold' }),
  ep('b', 'us-west/zone1/sub2', { tier: 'gold' }),
  ep('c', 'us-west/zone2'),
  ep('d', 'us-east/zone1'),
  ep('e', 'eu-west/zone1', { tier: 'gold' }),
]);
const PROXY = { 'topology.kubernetes.io/region': 'us-west', 'topology.kubernetes.io/zone': 'zone1', 'topology.istio.io/subzone': 'sub1', tier: 'gold' };
const shape = (p: TrafficPolicyConfig, labels: Record<string, string> = PROXY): Array<[number, number, string]> | undefined =>
  placeEndpoints(p, labels, ENDPOINTS)?.map((g) => [g.priority, Math.round(g.weight * 100) / 100, g.addresses.join(',')]);

describe('locality of a workload', () => {
  const cases: Array<[Record<string, string>, string | undefined]> = [
    [{ 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': 'z', 'topology.istio.io/subzone': 's' }, 'r/z/s'],
    [{ 'topology.kubernetes.io/region': 'r' }, 'r'],
    [{ 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': 'z' }, 'r/z'],
    [{ 'istio-locality': 'r1.z1.s1', 'topology.kubernetes.io/region': 'other' }, 'r1/z1/s1'],
    [{ app: 'x' }, undefined],
  ];
  for (const [labels, want] of cases) test(JSON.stringify(labels), () => assert.equal(localityOf(labels), want));
});

describe('placement per cluster', () => {
  test('default (enabled, outlier detection): subzone, zone, region, then the rest', () => {
    assert.deepEqual(shape(policy(null)), [[0, 1, 'a'], [1, 1, 'b'], [2, 1, 'c'], [3, 1, 'd,e']]);
  });
  test('failover us-west → eu-west: eu-west before the other regions', () => {
    assert.deepEqual(shape(policy({ failover: [{ from: 'us-west', to: 'eu-west' }] })), [[0, 1, 'a'], [1, 1, 'b'], [2, 1, 'c'], [3, 1, 'e'], [4, 1, 'd']]);
  });
  test('failover for another region changes nothing here', () => {
    assert.deepEqual(shape(policy({ failover: [{ from: 'us-east', to: 'eu-west' }] })), shape(policy(null)));
  });
  test('distribute 80/20 between two zones: the weight shared by endpoint count, other localities get nothing', () => {
    const p = policy({ distribute: [{ from: 'us-west/zone1/*', to: { 'us-west/zone1/*': 80, 'us-west/zone2/*': 20 } }] }, null);
    assert.deepEqual(shape(p), [[0, 40, 'a'], [0, 40, 'b'], [0, 20, 'c']]);
  });
  test('distribute: no entry for the proxy\'s locality, nothing applies', () => {
    assert.equal(shape(policy({ distribute: [{ from: 'eu-west/*', to: { 'eu-west/*': 100 } }] })), undefined);
  });
  test('failoverPriority: all labels equal first, then fewer', () => {
    const p = policy({ failoverPriority: ['topology.kubernetes.io/region', 'tier'] });
    // a, b: region and tier; c: region only; e: tier but not region (the first label decides); d: neither.
    assert.deepEqual(shape(p), [[0, 1, 'a,b'], [1, 1, 'c'], [2, 1, 'd,e']]);
  });
  test('failoverPriority with label=value compares with the value given', () => {
    assert.deepEqual(shape(policy({ failoverPriority: ['tier=silver'] })), undefined, 'nobody is silver: all one priority');
    assert.deepEqual(shape(policy({ failoverPriority: ['tier=gold'] })), [[0, 1, 'a,b,e'], [1, 1, 'c,d']]);
  });
  const none: Array<[string, TrafficPolicyConfig, Record<string, string>]> = [
    ['no outlier detection: failover never applies (Istio requires it)', policy(null, null), PROXY],
    ['enabled: false', policy({ enabled: false }), PROXY],
    ['a proxy without a locality', policy(null), { app: 'sleep' }],
  ];
  for (const [name, p, labels] of none) test(`nothing: ${name}`, () => assert.equal(shape(p, labels), undefined));
});
