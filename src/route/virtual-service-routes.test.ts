import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../config/load.js';
import type { VirtualServiceSpec } from '../config/kinds/virtual-service.js';
import { mergeDelegates } from './delegate.js';
import type { VirtualServiceRef } from './delegate.js';
import { ISTIO_DEFAULT_RETRY, translateHttpRoutes, translateL4Routes } from './virtual-service-routes.js';
import type { RouteContext } from './virtual-service-routes.js';
import { compileHttpRoutes, matchHttpRoute } from './http-route-match.js';
import type { RouteRequest } from './http-route-match.js';
import { compileL4Routes, matchL4Route } from './l4-route-match.js';

function vs(yaml: string, namespace = 'default'): VirtualServiceRef {
  const [r] = parseResources(`apiVersion: networking.istio.io/v1\nkind: VirtualService\n${yaml}`, 'vs.yaml');
  return { namespace, name: r!.resource.metadata.name, spec: r!.resource.spec as VirtualServiceSpec };
}
const ctx = (over: Partial<RouteContext> = {}): RouteContext => ({
  gateways: new Set(['mesh']),
  port: 9080,
  labels: { app: 'productpage' },
  namespace: 'default',
  resolveHost: (h, ns) => (h.includes('.') ? h : `${h}.${ns}.svc.cluster.local`),
  servicePorts: () => [9080],
  ...over,
});
function routesOf(v: VirtualServiceRef, c = ctx()): ReturnType<typeof translateHttpRoutes> {
  return translateHttpRoutes({ namespace: v.namespace, name: v.name, http: v.spec.http ?? [] }, c);
}
function route(v: VirtualServiceRef, req: Partial<RouteRequest>, c = ctx()): string {
  const table = compileHttpRoutes([{ name: v.name, domains: ['reviews'], routes: routesOf(v, c) }]);
  const d = matchHttpRoute(table, { path: '/', query: '', method: 'GET', authority: 'reviews', scheme: 'http', port: 9080, headers: {}, ...req });
  return d.kind === 'route' ? d.rule.route.destinations.map((x) => `${x.subset ?? ''}:${x.weight}`).join(',') : d.kind;
}

describe('Istio samples translated and matched', () => {
  // samples/bookinfo/networking/virtual-service-reviews-test-v2.yaml
  const testV2 = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination: { host: reviews, subset: v2 }
  - route:
    - destination: { host: reviews, subset: v1 }
`);
  test('reviews-test-v2: jason → v2', () => assert.equal(route(testV2, { headers: { 'end-user': 'jason' } }), 'v2:100'));
  test('reviews-test-v2: others → v1', () => assert.equal(route(testV2, {}), 'v1:100'));

  // virtual-service-reviews-50-v3.yaml
  const fifty = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 50
    - destination: { host: reviews, subset: v3 }
      weight: 50
`);
  test('reviews-50-v3: a 50/50 split with subsets', () => assert.equal(route(fifty, {}), 'v1:50,v3:50'));

  test('destinations resolve short names in the VirtualService namespace and take the only port', () => {
    const [r] = routesOf(testV2);
    assert.deepEqual(r!.destinations, [{ host: 'reviews.default.svc.cluster.local', port: 9080, weight: 100, subset: 'v2' }]);
    assert.equal(r!.source, 'default/reviews#0');
    assert.deepEqual(r!.retries, ISTIO_DEFAULT_RETRY);
  });

  // virtual-service-ratings-test-delay.yaml and -abort.yaml
  test('ratings-test-delay and -abort carry the fault', () => {
    const delay = vs(`metadata: { name: ratings }
spec:
  hosts: [ratings]
  http:
  - match:
    - headers: { end-user: { exact: jason } }
    fault:
      delay:
        percentage: { value: 100.0 }
        fixedDelay: 7s
    route:
    - destination: { host: ratings, subset: v1 }
  - fault:
      abort:
        percentage: { value: 100.0 }
        httpStatus: 500
    route:
    - destination: { host: ratings, subset: v1 }
`);
    const [a, b] = routesOf(delay);
    assert.deepEqual(a!.fault, { delay: { fixedDelayMs: 7000, percent: 100 } });
    assert.deepEqual(b!.fault, { abort: { httpStatus: 500, percent: 100 } });
  });

  test('request-timeouts and retries', () => {
    const v = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v2 }
    timeout: 0.5s
    retries: { attempts: 3, perTryTimeout: 2s, retryOn: "gateway-error,503" }
  - route:
    - destination: { host: reviews }
    retries: { attempts: 0 }
`);
    const [a, b] = routesOf(v);
    assert.equal(a!.timeoutMs, 500);
    assert.deepEqual(a!.retries, {
      attempts: 3,
      perTryTimeoutMs: 2000,
      retryOn: ['gateway-error', 'retriable-status-codes'],
      retriableStatusCodes: [503],
      retryRemoteLocalities: false,
      retryIgnorePreviousHosts: true,
      backoffMs: 0,
    });
    assert.equal(b!.retries?.attempts, 0);
  });

  // Istio's retry.DefaultPolicy(): retriable-status-codes with 503, kept when a route sets attempts but no retryOn.
  test('the default retry policy retries 503, also under attempts without retryOn', () => {
    const v = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews }
  - route:
    - destination: { host: reviews }
    retries: { attempts: 5 }
`);
    const [a, b] = routesOf(v);
    assert.deepEqual(a!.retries?.retriableStatusCodes, [503]);
    assert.deepEqual(b!.retries?.retryOn, ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes']);
    assert.deepEqual(b!.retries?.retriableStatusCodes, [503]);
    assert.equal(b!.retries?.attempts, 5);
  });

  test('mirroring task: mirror v2 at 100% by default, mirrorPercentage 0 disables', () => {
    const v = vs(`metadata: { name: httpbin }
spec:
  hosts: [httpbin]
  http:
  - route:
    - destination: { host: httpbin, subset: v1 }
    mirror: { host: httpbin, subset: v2 }
  - route:
    - destination: { host: httpbin, subset: v1 }
    mirror: { host: httpbin, subset: v2 }
    mirrorPercentage: { value: 0 }
`);
    const [a, b] = routesOf(v, ctx({ port: 8000, servicePorts: () => [8000] }));
    assert.deepEqual(a!.mirrors, [{ host: 'httpbin.default.svc.cluster.local', port: 8000, subset: 'v2', percent: 100 }]);
    assert.equal(b!.mirrors, undefined);
  });

  test('withoutHeaders regex "*" becomes a presence test; {} headers too', () => {
    const v = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - withoutHeaders: { x-debug: { regex: "*" } }
      headers: { X-User: {} }
    route:
    - destination: { host: reviews }
`);
    assert.deepEqual(routesOf(v)[0]!.match, [{ headers: { 'x-user': { present: true } }, withoutHeaders: { 'x-debug': { present: true } } }]);
    assert.equal(route(v, { headers: { 'x-user': 'a' } }), ':100');
    assert.equal(route(v, { headers: { 'x-user': 'a', 'x-debug': '1' } }), 'not-found');
  });

  test('entries for another port, gateway or source workload are dropped; a rule left with none goes', () => {
    const v = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - match:
    - port: 8080
    - gateways: [ingress]
    - sourceLabels: { app: reviews }
    - sourceNamespace: other
    route:
    - destination: { host: reviews, subset: v2 }
  - match:
    - sourceLabels: { app: productpage }
      sourceNamespace: default
    - gateways: [mesh]
      uri: { prefix: /mesh }
    route:
    - destination: { host: reviews, subset: v1 }
`);
    const r = routesOf(v);
    assert.equal(r.length, 1);
    assert.equal(r[0]!.source, 'default/reviews#1');
    assert.equal(r[0]!.match.length, 2);
    // At the ingress gateway on 8080: the port entry and the gateway entry of the first rule apply (a match entry
    // with no gateways checks source labels only, as Istio's sourceMatchHTTP does).
    const atGateway = routesOf(v, ctx({ gateways: new Set(['default/ingress']), port: 8080 }));
    assert.deepEqual(
      atGateway.map((r) => [r.source, r.match.length]),
      [
        ['default/reviews#0', 2],
        ['default/reviews#1', 1],
      ],
    );
  });

  test('redirect and direct response carry no destinations', () => {
    const v = vs(`metadata: { name: r }
spec:
  hosts: [r]
  http:
  - match: [{ uri: { exact: /v1/getProductRatings } }]
    redirect: { uri: /v1/bookRatings, authority: newratings.default.svc.cluster.local }
  - directResponse: { status: 503, body: { string: unknown error } }
`);
    const [a, b] = routesOf(v);
    assert.deepEqual(a!.redirect, { uri: '/v1/bookRatings', authority: 'newratings.default.svc.cluster.local', code: 301 });
    assert.deepEqual(a!.destinations, []);
    assert.equal(a!.retries, undefined);
    assert.deepEqual(b!.directResponse, { status: 503, body: { string: 'unknown error' } });
  });

  test('headers: authority folds into the rewrite; route and destination operations are kept apart', () => {
    const v = vs(`metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - headers:
      request:
        set: { test: "true", host: a.example }
    route:
    - destination: { host: reviews, subset: v2 }
      weight: 25
    - destination: { host: reviews, subset: v1 }
      headers:
        response:
          remove: [foo]
      weight: 75
`);
    const [r] = routesOf(v);
    assert.deepEqual(r!.rewrite, { authority: 'a.example' });
    assert.deepEqual(r!.headers, { request: { set: [['test', 'true']], add: [], remove: [] } });
    assert.deepEqual(r!.destinations[1]!.headers, { response: { set: [], add: [], remove: ['foo'] } });
  });
});

describe('delegate VirtualServices (Istio merge rules)', () => {
  const root = vs(`metadata: { name: root }
spec:
  hosts: [bookinfo.com]
  http:
  - name: pp
    match: [{ uri: { prefix: /productpage } }]
    timeout: 5s
    delegate: { name: productpage, namespace: nsA }
  - match: [{ uri: { prefix: /reviews } }]
    delegate: { name: reviews, namespace: nsB }
  - match: [{ uri: { prefix: /missing } }]
    delegate: { name: missing }
`);
  const productpage = vs(
    `metadata: { name: productpage }
spec:
  http:
  - name: v1
    match: [{ uri: { prefix: /productpage/v1 } }]
    route:
    - destination: { host: productpage-v1.nsA.svc.cluster.local }
  - name: conflict
    match: [{ uri: { prefix: /other } }]
    route:
    - destination: { host: productpage-v2.nsA.svc.cluster.local }
  - name: rest
    route:
    - destination: { host: productpage-v2.nsA.svc.cluster.local }
`,
    'nsA',
  );
  const reviews = vs(
    `metadata: { name: reviews }
spec:
  exportTo: ["."]
  http:
  - route:
    - destination: { host: reviews.nsB.svc.cluster.local }
`,
    'nsB',
  );
  const find = (ns: string, name: string): VirtualServiceRef | undefined => [productpage, reviews].find((v) => v.namespace === ns && v.name === name);
  const merged = mergeDelegates(root, find);

  test('a sub-match inside the root match is ANDed; one outside it is dropped; no match inherits the root', () => {
    assert.deepEqual(
      merged.map((r) => [r.name, r.match?.map((m) => m.uri)]),
      [
        ['pp-v1', [{ prefix: '/productpage/v1' }]],
        ['pp-rest', [{ prefix: '/productpage' }]],
      ],
    );
  });
  test('root settings the delegate does not set are inherited', () => assert.deepEqual(merged.map((r) => r.timeout), ['5s', '5s']));
  test('a delegate not exported to the root namespace, or missing, drops that route only', () => assert.equal(merged.length, 2));
});

describe('TCP and TLS routes', () => {
  const tls = vs(`metadata: { name: tls }
spec:
  hosts: ["*.bookinfo.com"]
  gateways: [mygateway]
  tls:
  - match:
    - port: 443
      sniHosts: [login.bookinfo.com]
    route:
    - destination: { host: login.prod.svc.cluster.local }
  - match:
    - port: 443
      sniHosts: ["*.bookinfo.com"]
    route:
    - destination: { host: reviews.prod.svc.cluster.local }
`);
  const routes = compileL4Routes(translateL4Routes(tls, tls.spec.tls ?? [], ctx({ gateways: new Set(['default/mygateway']), port: 443, servicePorts: () => [443] })));
  const rows: Array<[string | undefined, number, string | undefined]> = [
    ['login.bookinfo.com', 443, 'login.prod.svc.cluster.local'],
    ['LOGIN.bookinfo.com', 443, 'login.prod.svc.cluster.local'],
    ['www.bookinfo.com', 443, 'reviews.prod.svc.cluster.local'],
    ['bookinfo.com', 443, undefined],
    [undefined, 443, undefined],
  ];
  for (const [sni, port, want] of rows) {
    test(`SNI ${sni ?? '(none)'} → ${want ?? 'no route'}`, () =>
      assert.equal(matchL4Route(routes, { sni, destinationAddress: '10.0.0.1', destinationPort: port })?.route.destinations[0]?.host, want));
  }

  test('tcp: port and destination subnets', () => {
    const tcp = vs(`metadata: { name: mongo }
spec:
  hosts: [mongo]
  tcp:
  - match:
    - port: 27017
      destinationSubnets: [10.0.0.0/8, "2001:db8::/32"]
    route:
    - destination: { host: mongo.backup.svc.cluster.local, port: { number: 5555 } }
  - route:
    - destination: { host: mongo.default.svc.cluster.local }
`);
    const r = compileL4Routes(translateL4Routes(tcp, tcp.spec.tcp ?? [], ctx({ port: 27017, servicePorts: () => [27017] })));
    const to = (address: string): string | undefined => matchL4Route(r, { sni: undefined, destinationAddress: address, destinationPort: 27017 })?.route.destinations[0]?.host;
    assert.equal(to('10.1.2.3'), 'mongo.backup.svc.cluster.local');
    assert.equal(to('2001:db8::1'), 'mongo.backup.svc.cluster.local');
    assert.equal(to('192.168.0.1'), 'mongo.default.svc.cluster.local');
  });
});
