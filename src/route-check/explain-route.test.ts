/**
 * `weft route check` offline on Istio's bookinfo networking samples, as Istio's request-routing, traffic-shifting
 * and fault-injection tasks describe them: the config is compiled by the control plane's compile, the request
 * matched by the proxy's own compiled config.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadResources } from '../config/load.js';
import type { Resource } from '../config/resource.js';
import { sidecarConfigFrom } from './config-source.js';
import { buildSnapshot } from '../control/compile/snapshot.js';
import { compileProxyConfig } from '../control/compile/index.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import { acceptProxyConfig } from '../proxy/config/compiled-config.js';
import { checkedRequest } from './checked-request.js';
import { explainRoute } from './explain-route.js';
import type { RouteExplanation } from './explain-route.js';

const repo = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const BOOKINFO = repo('examples/bookinfo/bookinfo.yaml');
const NET = (f: string): string => repo(`examples/bookinfo/networking/${f}.yaml`);

async function resources(...files: string[]): Promise<Resource[]> {
  return (await loadResources([BOOKINFO, NET('destination-rule-all'), ...files])).map((l) => l.resource);
}

function check(rs: Resource[], from: string, url: string, headers: string[] = [], method = 'GET'): RouteExplanation {
  const cfg = sidecarConfigFrom(rs, 'default', from);
  return explainRoute(cfg, checkedRequest({ target: url, method, headers, query: [] }), { endpointsKnown: false });
}

const split = (e: RouteExplanation): string[] => e.destinations.map((d) => `${d.subset ?? '-'}:${d.percent}`);

test('reviews-test-v2: end-user jason goes to v2, everyone else to v1', async () => {
  const rs = await resources(NET('virtual-service-reviews-test-v2'));
  const cases: Array<{ headers: string[]; subset: string; rule: number; matchIndex: number }> = [
    { headers: ['end-user: jason'], subset: 'v2', rule: 0, matchIndex: 0 },
    { headers: ['end-user: Jason'], subset: 'v1', rule: 1, matchIndex: -1 },
    { headers: ['end-user: alice'], subset: 'v1', rule: 1, matchIndex: -1 },
    { headers: [], subset: 'v1', rule: 1, matchIndex: -1 },
  ];
  for (const c of cases) {
    const e = check(rs, 'productpage-v1', 'http://reviews:9080/reviews/0', c.headers);
    assert.equal(e.outcome, 'route', JSON.stringify(c));
    assert.equal(e.rule?.virtualService, 'default/reviews');
    assert.equal(e.rule?.index, c.rule, JSON.stringify(c));
    assert.equal(e.rule?.matchIndex, c.matchIndex);
    assert.deepEqual(split(e), [`${c.subset}:100`]);
    const cluster = e.destinations[0]!.cluster;
    assert.equal(cluster.name, `outbound|9080|${c.subset}|reviews.default.svc.cluster.local`);
    assert.deepEqual(cluster.destinationRules, ['default/reviews']);
    assert.equal(cluster.localReply, null);
  }
  const jason = check(rs, 'productpage-v1', 'http://reviews:9080/', ['end-user: jason']);
  assert.deepEqual(jason.rule?.match, { headers: { 'end-user': { exact: 'jason' } } });
  // Istio's default retry policy when the rule sets none; no timeout.
  assert.equal(jason.retries.istioDefault, true);
  assert.equal(jason.retries.attempts, 2);
  assert.equal(jason.timeoutMs, 0);
});

test('reviews-50-v3: half to v1, half to v3, and the DestinationRule policy of each subset', async () => {
  const e = check(await resources(NET('virtual-service-reviews-50-v3')), 'productpage-v1', 'reviews:9080');
  assert.equal(e.outcome, 'route');
  assert.deepEqual(split(e), ['v1:50', 'v3:50']);
  for (const d of e.destinations) {
    assert.equal(d.upstreamAuthority, 'reviews:9080');
    // destination-rule-all sets no traffic policy: Istio's defaults.
    assert.deepEqual(d.cluster.policy?.loadBalancer, { policy: 'LEAST_REQUEST' });
    assert.equal(d.cluster.policy?.outlierDetection, null);
  }
});

test('ratings-test-delay and ratings-test-abort: the fault applies to jason only', async () => {
  const delay = await resources(NET('virtual-service-ratings-test-delay'));
  const slow = check(delay, 'reviews-v2', 'http://ratings:9080/ratings/0', ['end-user: jason']);
  assert.deepEqual(slow.fault, { delay: { fixedDelayMs: 7000, percent: 100 } });
  assert.deepEqual(split(slow), ['v1:100']);
  assert.equal(check(delay, 'reviews-v2', 'http://ratings:9080/ratings/0').fault, null);

  const abort = await resources(NET('virtual-service-ratings-test-abort'));
  const failed = check(abort, 'reviews-v3', 'http://ratings:9080/ratings/0', ['end-user: jason']);
  assert.deepEqual(failed.fault, { abort: { httpStatus: 500, percent: 100 } });
  assert.equal(check(abort, 'reviews-v3', 'http://ratings:9080/ratings/0', ['end-user: bob']).fault, null);
});

test('no VirtualService: the default route to the whole service', async () => {
  const e = check(await resources(), 'productpage-v1', 'http://details:9080/details/0');
  assert.equal(e.outcome, 'default-route');
  assert.equal(e.rule, null);
  assert.deepEqual(split(e), ['-:100']);
  assert.equal(e.destinations[0]!.cluster.name, 'outbound|9080||details.default.svc.cluster.local');
});

test('local answers: no matching rule is 404 NR, an unknown subset 503 NR, an unknown host egress', async () => {
  const only = await loadResources([repo('examples/bookinfo/bookinfo.yaml')]);
  const rs = [...only.map((l) => l.resource), ...(await loadResources([NET('virtual-service-reviews-test-v2')])).map((l) => l.resource)];
  // Without destination-rule-all, subset v1 is unknown to the proxy: Istio answers 503 NR.
  const noSubset = check(rs, 'productpage-v1', 'http://reviews:9080/');
  assert.equal(noSubset.outcome, 'route');
  assert.deepEqual(noSubset.destinations[0]!.cluster.localReply, { status: 503, flag: 'NR', reason: 'no cluster for subset v1 of reviews.default.svc.cluster.local:9080: no healthy upstream' });

  const narrow: Resource = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'details', namespace: 'default', labels: {}, annotations: {} },
    spec: { hosts: ['details'], http: [{ match: [{ uri: { prefix: '/details' } }], route: [{ destination: { host: 'details' } }] }] },
  } as Resource;
  const e404 = check([...rs, narrow], 'productpage-v1', 'http://details:9080/other');
  assert.equal(e404.outcome, 'local-reply');
  assert.deepEqual(e404.localReply, { status: 404, flag: 'NR', reason: 'no route matched' });

  const out = check(rs, 'productpage-v1', 'http://example.com/');
  assert.equal(out.outcome, 'local-reply');
  assert.equal(out.localReply?.status, 502);
  assert.deepEqual(out.egress, { serviceEntry: null, trafficPolicy: 'REGISTRY_ONLY' });
});

test('from the ingress gateway: bookinfo-gateway routes by path, anything else is 404 NR', async () => {
  const rs = [...(await resources()), ...(await loadResources([repo('examples/bookinfo/bookinfo-gateway.yaml')])).map((l) => l.resource)];
  const snap = buildSnapshot(rs, 0, meshConfigWithDefaults(undefined));
  const cfg = acceptProxyConfig(compileProxyConfig(snap, { role: 'gateway', namespace: 'weft-system', name: 'ingressgateway', serviceAccount: 'ingressgateway', labels: { istio: 'ingressgateway' } }));
  const cases: Array<[string, string, number]> = [
    ['http://bookinfo.example:8080/productpage', 'route', 0],
    ['http://bookinfo.example:8080/static/css/a.css', 'route', 1],
    ['http://bookinfo.example:8080/api/v1/products/0', 'route', 4],
    ['http://bookinfo.example:8080/admin', 'local-reply', -1],
  ];
  for (const [url, outcome, matchIndex] of cases) {
    const e = explainRoute(cfg, checkedRequest({ target: url, method: 'GET', headers: [], query: [] }), { endpointsKnown: false });
    assert.equal(e.proxy, 'gateway/weft-system/ingressgateway');
    assert.deepEqual(e.virtualHost, { gateway: 'default/bookinfo-gateway', domains: ['*'], port: 8080 });
    assert.equal(e.outcome, outcome, url);
    if (outcome === 'local-reply') {
      assert.deepEqual(e.localReply, { status: 404, flag: 'NR', reason: 'no route matched' });
      continue;
    }
    assert.equal(e.rule?.virtualService, 'default/bookinfo');
    assert.equal(e.rule.matchIndex, matchIndex, url);
    assert.deepEqual(e.destinations.map((d) => [d.host, d.port, d.cluster.name]), [['productpage.default.svc.cluster.local', 9080, 'outbound|9080||productpage.default.svc.cluster.local']]);
  }
});
