/**
 * Sidecar routes and clusters per service port, by Istio's rules: VirtualServices bound to the mesh (`gateways`
 * unset or naming `mesh`), exported to the caller's namespace, hosts resolved in the VirtualService's namespace;
 * no VirtualService: the default route (no `http`); one that claims the host but has no rule for the port: `http: []`
 * (404); DestinationRule subsets as clusters with the endpoints their labels select.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import type { OutboundPort, ProxyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { gatewayConfig, service, sidecarConfig, snapshot, workload } from './outbound.fixture.js';
import { compileTrafficPolicy } from './cluster-policy.js';

let age = 0;
function istio(kind: string, namespace: string, name: string, spec: unknown): Resource {
  age += 1;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind,
    metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: `2024-01-01T00:00:${String(age).padStart(2, '0')}Z` } as Resource['metadata'],
    spec,
  };
}

const BASE: Resource[] = [
  service('bookinfo', 'reviews', [9080, 9090]),
  service('bookinfo', 'ratings', [9080]),
  workload('bookinfo', 'reviews-v1', { app: 'reviews', version: 'v1' }),
  workload('bookinfo', 'reviews-v2', { app: 'reviews', version: 'v2' }),
  workload('bookinfo', 'productpage', { app: 'productpage' }),
  workload('shop', 'cart', { app: 'cart' }),
];

const toV2 = (extra: Record<string, unknown> = {}, host = 'reviews'): Record<string, unknown> => ({
  hosts: [host],
  http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' } }] }],
  ...extra,
});

function port(cfg: ProxyConfig, host: string, number: number): OutboundPort {
  const p = cfg.outbound.services.find((s) => s.host === host)?.ports.find((x) => x.port === number);
  assert.ok(p, `no ${host}:${number}`);
  return p;
}
const REVIEWS = 'reviews.bookinfo.svc.cluster.local';
const routesFrom = (resources: Resource[], ns = 'bookinfo', name = 'productpage', p = 9080): OutboundPort['http'] =>
  port(sidecarConfig(snapshot([...BASE, ...resources]), ns, name), REVIEWS, p).http;

describe('sidecar routes per service port', () => {
  test('no VirtualService: the default route', () => assert.equal(routesFrom([]), undefined));
  test('a VirtualService for the host: its rules, the destination resolved in its namespace', () => {
    const http = routesFrom([istio('VirtualService', 'bookinfo', 'reviews', toV2())]);
    assert.deepEqual(http?.map((r) => r.destinations), [[{ host: REVIEWS, port: 9080, weight: 100, subset: 'v2' }]]);
  });
  const cases: Array<[string, Resource, boolean]> = [
    ['gateways unset means mesh', istio('VirtualService', 'bookinfo', 'r', toV2()), true],
    ['gateways: [mesh]', istio('VirtualService', 'bookinfo', 'r', toV2({ gateways: ['mesh'] })), true],
    ['gateways: [a gateway] only: not for sidecars', istio('VirtualService', 'bookinfo', 'r', toV2({ gateways: ['bookinfo-gateway'] })), false],
    ['a FQDN host', istio('VirtualService', 'shop', 'r', toV2({}, REVIEWS)), true],
    ['a short host in another namespace names another service', istio('VirtualService', 'shop', 'r', toV2()), false],
    ['a wildcard host', istio('VirtualService', 'bookinfo', 'r', toV2({}, '*.bookinfo.svc.cluster.local')), true],
    ['exportTo "." from another namespace', istio('VirtualService', 'shop', 'r', toV2({ exportTo: ['.'] }, REVIEWS)), false],
    ['exportTo naming the caller', istio('VirtualService', 'shop', 'r', toV2({ exportTo: ['bookinfo'] }, REVIEWS)), true],
  ];
  for (const [name, vs, applies] of cases) test(name, () => assert.equal(routesFrom([vs]) !== undefined, applies));

  test('a VirtualService with no rule for this port: present and empty, so requests get 404', () => {
    const vs = istio('VirtualService', 'bookinfo', 'r', { hosts: ['reviews'], http: [{ match: [{ port: 9090 }], route: [{ destination: { host: 'reviews' } }] }] });
    assert.deepEqual(routesFrom([vs], 'bookinfo', 'productpage', 9080), []);
    assert.equal(routesFrom([vs], 'bookinfo', 'productpage', 9090)?.length, 1);
  });
  test('several VirtualServices for one host concatenate, oldest first', () => {
    const a = istio('VirtualService', 'bookinfo', 'a', { hosts: ['reviews'], http: [{ name: 'a', match: [{ uri: { prefix: '/a' } }], route: [{ destination: { host: 'reviews' } }] }] });
    const b = istio('VirtualService', 'bookinfo', 'b', { hosts: ['reviews'], http: [{ name: 'b', route: [{ destination: { host: 'reviews' } }] }] });
    assert.deepEqual(routesFrom([b, a])?.map((r) => r.name), ['a', 'b']);
  });
  test('sourceLabels: a rule for one caller only, and configs then differ by caller labels', () => {
    const vs = istio('VirtualService', 'bookinfo', 'r', { hosts: ['reviews'], http: [{ match: [{ sourceLabels: { app: 'productpage' } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] }] });
    assert.equal(routesFrom([vs], 'bookinfo', 'productpage')?.length, 1);
    assert.deepEqual(routesFrom([vs], 'bookinfo', 'reviews-v1'), []);
  });
  test('the gateway gets no mesh routes', () => {
    const snap = snapshot([...BASE, istio('VirtualService', 'bookinfo', 'r', toV2())]);
    assert.ok(port(sidecarConfig(snap, 'bookinfo', 'productpage'), REVIEWS, 9080).http);
    assert.equal(port(gatewayConfig(snap, 'bookinfo'), REVIEWS, 9080).http, undefined);
  });
});

describe('sidecar clusters per service port', () => {
  test('no DestinationRule: no clusters (the proxy uses the default policy)', () => assert.equal(port(sidecarConfig(snapshot(BASE), 'bookinfo', 'productpage'), REVIEWS, 9080).clusters, undefined));
  test('the default policy is what compile fills in for an empty policy', () => assert.deepEqual(compileTrafficPolicy(undefined), DEFAULT_TRAFFIC_POLICY));
  test('subsets select endpoints by labels; an unknown label selects none', () => {
    const dr = istio('DestinationRule', 'bookinfo', 'reviews', {
      host: 'reviews',
      trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } },
        { name: 'v9', labels: { version: 'v9' } },
      ],
    });
    const clusters = port(sidecarConfig(snapshot([...BASE, dr]), 'bookinfo', 'productpage'), REVIEWS, 9080).clusters ?? [];
    const ip = (name: string): string => (BASE.find((r) => r.metadata.name === name)?.status as { podIP: string }).podIP;
    assert.deepEqual(
      clusters.map((c) => [c.name, c.endpoints, c.policy.loadBalancer.policy]),
      [
        [`outbound|9080||${REVIEWS}`, [ip('reviews-v1'), ip('reviews-v2')], 'ROUND_ROBIN'],
        [`outbound|9080|v1|${REVIEWS}`, [ip('reviews-v1')], 'ROUND_ROBIN'],
        [`outbound|9080|v2|${REVIEWS}`, [ip('reviews-v2')], 'RANDOM'],
        [`outbound|9080|v9|${REVIEWS}`, [], 'ROUND_ROBIN'],
      ],
    );
  });
});
