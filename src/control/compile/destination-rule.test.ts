/** Which DestinationRule applies (Istio's lookup), how rules merge, and the compiled cluster policy with Istio's defaults. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { ClusterConfigSchema } from '../../proxyconfig/types.js';
import { BOOT, snapshot } from './outbound.fixture.js';
import { destinationRuleFor, policyForPort, ruleHost } from './destination-rule.js';
import { UNLIMITED, compileClusters, compileTrafficPolicy } from './cluster-policy.js';

let age = 0;
function rule(namespace: string, name: string, spec: Record<string, unknown>): Resource {
  age += 1;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: `2024-01-01T00:00:${String(age).padStart(2, '0')}Z` } as Resource['metadata'],
    spec,
  };
}
const REVIEWS = { host: 'reviews.bookinfo.svc.cluster.local', namespace: 'bookinfo' };
const ROOT = BOOT.rootNamespace;
const lb = (simple: string): Record<string, unknown> => ({ trafficPolicy: { loadBalancer: { simple } } });
const applied = (resources: Resource[], client: { namespace: string; labels?: Record<string, string> }, service = REVIEWS): string[] | undefined =>
  destinationRuleFor(snapshot(resources), { namespace: client.namespace, labels: client.labels ?? {} }, service)?.sources;

describe("DestinationRule lookup (Istio's order: client namespace, service namespace, root namespace)", () => {
  const all = [
    rule(ROOT, 'mesh-wide', { host: '*.svc.cluster.local', ...lb('RANDOM') }),
    rule('bookinfo', 'owner', { host: 'reviews', ...lb('ROUND_ROBIN') }),
    rule('shop', 'client-side', { host: 'reviews.bookinfo.svc.cluster.local', ...lb('LEAST_REQUEST') }),
  ];
  test('a rule in the client namespace wins', () => assert.deepEqual(applied(all, { namespace: 'shop' }), ['shop/client-side']));
  test("else the service namespace's rule", () => assert.deepEqual(applied(all, { namespace: 'other' }), ['bookinfo/owner']));
  test("else the root namespace's rule", () => assert.deepEqual(applied(all.slice(0, 1), { namespace: 'other' }), [`${ROOT}/mesh-wide`]));
  test('none at all', () => assert.equal(applied([rule('elsewhere', 'x', { host: 'reviews' })], { namespace: 'other' }), undefined));
  test("a short host means the rule's own namespace, not the service's", () => {
    assert.equal(ruleHost('reviews', 'shop'), 'reviews.shop.svc.cluster.local');
    assert.equal(applied([rule('shop', 'short', { host: 'reviews' })], { namespace: 'shop' }), undefined);
  });
  test('an exact host beats a wildcard at the same level', () => {
    const rules = [rule('bookinfo', 'wild', { host: '*.bookinfo.svc.cluster.local' }), rule('bookinfo', 'exact', { host: 'reviews' })];
    assert.deepEqual(applied(rules, { namespace: 'other' }), ['bookinfo/exact']);
  });
  test('the longer wildcard beats the shorter one', () => {
    const rules = [rule('bookinfo', 'short', { host: '*.cluster.local' }), rule('bookinfo', 'long', { host: '*.bookinfo.svc.cluster.local' })];
    assert.deepEqual(applied(rules, { namespace: 'other' }), ['bookinfo/long']);
  });
});

describe('exportTo', () => {
  test('a rule exported to "." serves its own namespace only; others fall through to the root', () => {
    const rules = [rule('bookinfo', 'private', { host: 'reviews', exportTo: ['.'] }), rule(ROOT, 'mesh', { host: '*.svc.cluster.local' })];
    assert.deepEqual(applied(rules, { namespace: 'bookinfo' }), ['bookinfo/private']);
    assert.deepEqual(applied(rules, { namespace: 'shop' }), [`${ROOT}/mesh`]);
  });
  test('a rule exported to a named namespace serves it and not another', () => {
    const rules = [rule('bookinfo', 'for-shop', { host: 'reviews', exportTo: ['shop'] })];
    assert.deepEqual(applied(rules, { namespace: 'shop' }), ['bookinfo/for-shop']);
    assert.equal(applied(rules, { namespace: 'web' }), undefined);
  });
  test('a root-namespace rule exported to "." serves only the root namespace', () => {
    const rules = [rule(ROOT, 'root-only', { host: '*.svc.cluster.local', exportTo: ['.'] })];
    assert.equal(applied(rules, { namespace: 'shop' }), undefined);
    assert.deepEqual(applied(rules, { namespace: ROOT }), [`${ROOT}/root-only`]);
  });
});

describe('workloadSelector', () => {
  const rules = [
    rule('shop', 'for-cart', { host: 'reviews.bookinfo.svc.cluster.local', workloadSelector: { matchLabels: { app: 'cart' } }, ...lb('RANDOM') }),
    rule('shop', 'everyone', { host: 'reviews.bookinfo.svc.cluster.local', ...lb('ROUND_ROBIN') }),
  ];
  test('a selected workload gets the selector rule', () => assert.deepEqual(applied(rules, { namespace: 'shop', labels: { app: 'cart' } }), ['shop/for-cart']));
  test('another workload of the namespace gets the rule without a selector', () => assert.deepEqual(applied(rules, { namespace: 'shop', labels: { app: 'web' } }), ['shop/everyone']));
  test('a selector never reaches across namespaces', () => {
    const owner = [rule('bookinfo', 'sel', { host: 'reviews', workloadSelector: { matchLabels: { app: 'cart' } } })];
    assert.equal(applied(owner, { namespace: 'shop', labels: { app: 'cart' } }), undefined);
  });
});

describe('rules for one host merge, oldest first', () => {
  test('the first traffic policy is kept, subsets are added unless the name is taken', () => {
    const rules = [
      rule('bookinfo', 'a', { host: 'reviews', ...lb('RANDOM'), subsets: [{ name: 'v1', labels: { version: 'v1' } }] }),
      rule('bookinfo', 'b', { host: 'reviews', ...lb('ROUND_ROBIN'), subsets: [{ name: 'v1', labels: { version: 'x' } }, { name: 'v2', labels: { version: 'v2' } }] }),
    ];
    const r = destinationRuleFor(snapshot(rules), { namespace: 'other', labels: {} }, REVIEWS);
    assert.deepEqual(r, {
      sources: ['bookinfo/a', 'bookinfo/b'],
      trafficPolicy: { loadBalancer: { simple: 'RANDOM' } },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
      workloadSelected: false,
    });
  });
});

describe('policy for a port (Istio MergeTrafficPolicy)', () => {
  const top = {
    loadBalancer: { simple: 'RANDOM' as const },
    connectionPool: { tcp: { maxConnections: 5 } },
    portLevelSettings: [{ port: { number: 80 }, loadBalancer: { simple: 'ROUND_ROBIN' as const } }],
  };
  test('a port-level setting replaces all four components: unset ones fall back to defaults', () => {
    assert.deepEqual(policyForPort(top, undefined, 80), { loadBalancer: { simple: 'ROUND_ROBIN' } });
    assert.deepEqual(policyForPort(top, undefined, 9080), { loadBalancer: { simple: 'RANDOM' }, connectionPool: { tcp: { maxConnections: 5 } } });
  });
  test('a subset overrides component by component and inherits the rest', () => {
    assert.deepEqual(policyForPort(top, { outlierDetection: { consecutive5xxErrors: 1 } }, 9080), {
      loadBalancer: { simple: 'RANDOM' },
      connectionPool: { tcp: { maxConnections: 5 } },
      outlierDetection: { consecutive5xxErrors: 1 },
    });
  });
  test("a subset's own port-level setting wins for its port", () => {
    const subset = { connectionPool: { tcp: { maxConnections: 1 } }, portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: 'LEAST_REQUEST' as const } }] };
    assert.deepEqual(policyForPort(top, subset, 9080), { loadBalancer: { simple: 'LEAST_REQUEST' } });
    assert.deepEqual(policyForPort(top, subset, 81), { loadBalancer: { simple: 'RANDOM' }, connectionPool: { tcp: { maxConnections: 1 } } });
  });
  test("tunnel and proxyProtocol: a subset's replaces the top level's; a port-level setting (which has neither) keeps them", () => {
    const withTransport = { ...top, proxyProtocol: { version: 'V2' as const } };
    assert.deepEqual(policyForPort(withTransport, undefined, 80), { loadBalancer: { simple: 'ROUND_ROBIN' }, proxyProtocol: { version: 'V2' } });
    assert.deepEqual(policyForPort(withTransport, { proxyProtocol: { version: 'V1' } }, 9080)?.proxyProtocol, { version: 'V1' });
    const tunnel = { targetHost: 'proxy.example.com', targetPort: 3128 };
    assert.deepEqual(compileTrafficPolicy(policyForPort(withTransport, { tunnel }, 9080)).tunnel, { protocol: 'CONNECT', ...tunnel });
    assert.equal(compileTrafficPolicy(policyForPort(withTransport, { tunnel }, 9080)).proxyProtocol, 'V2', 'inherited from the top level: both apply, as in Envoy');
  });
});

describe('compiled cluster policy', () => {
  test("no rule: Istio's defaults (LEAST_REQUEST, no limits, no outlier detection, auto mTLS)", () => {
    assert.deepEqual(compileTrafficPolicy(undefined), {
      loadBalancer: { policy: 'LEAST_REQUEST' },
      warmup: null,
      localityLbSetting: null,
      connectionPool: {
        maxConnections: UNLIMITED,
        maxPendingRequests: UNLIMITED,
        maxRequests: UNLIMITED,
        maxRetries: UNLIMITED,
        maxRequestsPerConnection: 0,
        connectTimeoutMs: 10_000,
        tcpIdleTimeoutMs: 3_600_000,
        httpIdleTimeoutMs: 3_600_000,
        maxConnectionDurationMs: 0,
        tcpKeepalive: null,
        h2UpgradePolicy: 'DEFAULT',
        useClientProtocol: false,
        maxConcurrentStreams: 2_147_483_647,
      },
      outlierDetection: null,
      tls: null,
      tunnel: null,
      proxyProtocol: null,
    });
  });

  test("Istio's circuit-breaking task (httpbin): limits of 1 and an outlier detector that ejects on one 5xx", () => {
    const p = compileTrafficPolicy({
      connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1, maxRequestsPerConnection: 1 } },
      outlierDetection: { consecutive5xxErrors: 1, interval: '1s', baseEjectionTime: '3m', maxEjectionPercent: 100 },
    });
    assert.deepEqual(
      [p.connectionPool.maxConnections, p.connectionPool.maxPendingRequests, p.connectionPool.maxRequestsPerConnection, p.connectionPool.maxRequests],
      [1, 1, 1, UNLIMITED],
    );
    assert.deepEqual(p.outlierDetection, {
      consecutive5xx: 1,
      consecutiveGatewayErrors: 0,
      consecutiveLocalOriginFailures: 5,
      splitExternalLocalOriginErrors: false,
      intervalMs: 1000,
      baseEjectionTimeMs: 180_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 100,
      minHealthPercent: 0,
    });
  });

  test('http2KeepAlive: interval and timeout in ms, carried only where a rule sets it', () => {
    assert.deepEqual(compileTrafficPolicy({ connectionPool: { http: { http2KeepAlive: { interval: '30s', timeout: '5s' } } } }).connectionPool.http2KeepAlive, { intervalMs: 30_000, timeoutMs: 5_000 });
    assert.equal('http2KeepAlive' in compileTrafficPolicy({ connectionPool: { http: { maxRetries: 3 } } }).connectionPool, false);
  });

  test('consistent hash: header names lower-cased, cookie TTL in ms, ring size and Maglev table defaults', () => {
    assert.deepEqual(compileTrafficPolicy({ loadBalancer: { consistentHash: { httpHeaderName: 'X-User' } } }).loadBalancer, { policy: 'RING_HASH', hashKey: { header: 'x-user' }, minimumRingSize: 1024 });
    assert.deepEqual(compileTrafficPolicy({ loadBalancer: { consistentHash: { httpCookie: { name: 'user', ttl: '0s' }, minimumRingSize: 2048 } } }).loadBalancer, {
      policy: 'RING_HASH',
      hashKey: { cookie: { name: 'user', path: null, ttlMs: 0 } },
      minimumRingSize: 2048,
    });
    assert.deepEqual(compileTrafficPolicy({ loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: '65537' } } } }).loadBalancer, { policy: 'MAGLEV', hashKey: { sourceIp: true }, tableSize: 65537 });
    assert.deepEqual(compileTrafficPolicy({ loadBalancer: { simple: 'LEAST_CONN' } }).loadBalancer, { policy: 'LEAST_REQUEST' });
  });

  test("the deprecated consecutiveErrors counts gateway errors, as Istio maps it", () => {
    assert.equal(compileTrafficPolicy({ outlierDetection: { consecutiveErrors: 3 } }).outlierDetection?.consecutiveGatewayErrors, 3);
  });

  test("bookinfo's destination-rule-all: one cluster per port and subset, each valid against the ProxyConfig schema", () => {
    const snap = snapshot([rule('default', 'reviews', { host: 'reviews', subsets: ['v1', 'v2', 'v3'].map((v) => ({ name: v, labels: { version: v } })) })]);
    const clusters = compileClusters(snap, { namespace: 'default', labels: {} }, { host: 'reviews.default.svc.cluster.local', namespace: 'default', ports: [{ port: 9080 }] });
    assert.deepEqual(
      clusters.map((c) => [c.name, c.subset, c.labels, c.destinationRules]),
      [
        ['outbound|9080||reviews.default.svc.cluster.local', null, {}, ['default/reviews']],
        ['outbound|9080|v1|reviews.default.svc.cluster.local', 'v1', { version: 'v1' }, ['default/reviews']],
        ['outbound|9080|v2|reviews.default.svc.cluster.local', 'v2', { version: 'v2' }, ['default/reviews']],
        ['outbound|9080|v3|reviews.default.svc.cluster.local', 'v3', { version: 'v3' }, ['default/reviews']],
      ],
    );
    for (const c of clusters) ClusterConfigSchema.parse(c);
  });
});
