import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpRoute } from '../proxyconfig/types.js';
import { DEFAULT_ROUTE, authorityHost, compileHttpRoutes, matchHttpRoute } from './http-route-match.js';
import type { MatchedRoute, RouteRequest } from './http-route-match.js';
import { pickWeighted } from './weighted.js';

function request(over: Partial<RouteRequest> = {}): RouteRequest {
  return { path: '/', query: '', method: 'GET', authority: 'reviews:9080', scheme: 'http', port: 9080, headers: {}, ...over };
}
const to = (subset: string, weight = 100): HttpRoute['destinations'][number] => ({ host: 'reviews.default.svc.cluster.local', port: 9080, weight, subset });
function rule(name: string, match: HttpRoute['match'], destinations: HttpRoute['destinations']): HttpRoute {
  return { source: `default/reviews#${name}`, name, match, destinations, timeoutMs: 0 };
}

describe('matchHttpRoute: virtual host, 404 and default route', () => {
  // Istio's request-routing task: jason goes to v2, everyone else to v1 (virtual-service-reviews-test-v2.yaml).
  const table = compileHttpRoutes([
    {
      name: 'default/reviews',
      domains: ['reviews', 'reviews.default.svc.cluster.local'],
      routes: [rule('jason', [{ headers: { 'end-user': { exact: 'jason' } } }], [to('v2')]), rule('rest', [], [to('v1')])],
    },
    { name: 'default/ratings', domains: ['ratings'], routes: [rule('only-v1-path', [{ uri: { prefix: '/ratings' } }], [to('v1')])] },
    { name: 'default/wild', domains: ['*.example.com'], routes: [rule('wild', [], [to('v3')])] },
    { name: 'default/wilder', domains: ['*.api.example.com'], routes: [rule('wilder', [], [to('v4')])] },
  ]);
  const cases: Array<[string, Partial<RouteRequest>, string]> = [
    ['jason → v2', { headers: { 'end-user': 'jason' } }, 'route:jason'],
    ['anyone else → v1', { headers: { 'end-user': 'mary' } }, 'route:rest'],
    ['host with port and upper case finds the virtual host', { authority: 'REVIEWS.default.svc.cluster.local:9080' }, 'route:rest'],
    ['a virtual host without a matching rule answers 404', { authority: 'ratings', path: '/health' }, 'not-found:default/ratings'],
    ['a host no VirtualService claims takes the default route', { authority: 'details:9080' }, 'default'],
    ['*.suffix matches a subdomain', { authority: 'www.example.com' }, 'route:wild'],
    ['the longest suffix wins', { authority: 'v1.api.example.com' }, 'route:wilder'],
    ['*.suffix does not match the bare domain', { authority: 'example.com' }, 'default'],
  ];
  for (const [name, req, want] of cases) {
    test(name, () => {
      const d = matchHttpRoute(table, request(req));
      const got = d.kind === 'route' ? `route:${d.rule.route.name}` : d.kind === 'not-found' ? `not-found:${d.virtualHost.name}` : 'default';
      assert.equal(got, want);
    });
  }

  test('decisions are built at compile time: the same object every time', () => {
    const a = matchHttpRoute(table, request({ headers: { 'end-user': 'jason' } }));
    const b = matchHttpRoute(table, request({ headers: { 'end-user': 'jason' } }));
    assert.equal(a, b);
    assert.equal(matchHttpRoute(table, request({ authority: 'nothing' })), DEFAULT_ROUTE);
  });

  test('the matched entry of a rule is reported (OR across entries)', () => {
    const t = compileHttpRoutes([{ name: 'vs', domains: ['a'], routes: [rule('r', [{ uri: { exact: '/x' } }, { uri: { prefix: '/y' } }], [to('v1')])] }]);
    const d = matchHttpRoute(t, request({ authority: 'a', path: '/y/z' })) as MatchedRoute;
    assert.equal(d.matchIndex, 1);
    assert.deepEqual(d.match, { uri: { prefix: '/y' } });
  });

  const hosts: Array<[string, string]> = [
    ['reviews:9080', 'reviews'],
    ['Reviews', 'reviews'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['10.0.0.1:80', '10.0.0.1'],
  ];
  for (const [authority, want] of hosts) test(`authorityHost(${authority})`, () => assert.equal(authorityHost(authority), want));
});

describe('pickWeighted (traffic-shifting task)', () => {
  const split = [
    { name: 'v1', weight: 80 },
    { name: 'v3', weight: 20 },
  ];
  // Envoy draws an integer in [0, total): weights are contiguous ranges in order.
  const rows: Array<[number, string | undefined]> = [
    [0, 'v1'],
    [0.79, 'v1'],
    [0.7999, 'v1'],
    [0.8, 'v3'],
    [0.9999, 'v3'],
  ];
  for (const [r, want] of rows) test(`random ${r} → ${want}`, () => assert.equal(pickWeighted(split, () => r)?.name, want));

  test('one destination needs no draw, whatever its weight', () => {
    assert.equal(pickWeighted([{ name: 'only', weight: 0 }], () => assert.fail('no draw'))?.name, 'only');
  });
  test('a zero weight among several is never chosen', () => {
    const s = [
      { name: 'a', weight: 0 },
      { name: 'b', weight: 1 },
    ];
    for (const r of [0, 0.5, 0.999]) assert.equal(pickWeighted(s, () => r)?.name, 'b');
  });
  test('all zero weights choose nothing', () => {
    assert.equal(
      pickWeighted(
        [
          { name: 'a', weight: 0 },
          { name: 'b', weight: 0 },
        ],
        () => 0.5,
      ),
      undefined,
    );
  });
  test('50/50 split over a uniform sweep is exact', () => {
    const s = [
      { name: 'v1', weight: 50 },
      { name: 'v3', weight: 50 },
    ];
    const counts = { v1: 0, v3: 0 };
    for (let i = 0; i < 1000; i++) counts[pickWeighted(s, () => i / 1000)!.name as 'v1' | 'v3']++;
    assert.deepEqual(counts, { v1: 500, v3: 500 });
  });
});

describe('hostile input: matching is linear time (RE2)', () => {
  const table = compileHttpRoutes([
    {
      name: 'vs',
      domains: ['a'],
      routes: [
        rule('catastrophic', [{ uri: { regex: '(a+)+$' } }, { headers: { 'x-v': { regex: '(a|aa)*c' } } }, { queryParams: { q: { regex: '(a*)*b' } } }], [to('v1')]),
        rule('rest', [], [to('v2')]),
      ],
    },
  ]);
  const a50k = 'a'.repeat(50_000);

  test('(a+)+$ against 50 KB of a followed by b completes (and does not match)', () => {
    const d = matchHttpRoute(table, request({ authority: 'a', path: `/${a50k}b` }));
    assert.equal(d.kind === 'route' && d.rule.route.name, 'rest');
  });
  test('(a|aa)*c against a 50 KB header completes', () => {
    const d = matchHttpRoute(table, request({ authority: 'a', headers: { 'x-v': a50k } }));
    assert.equal(d.kind === 'route' && d.rule.route.name, 'rest');
  });
  test('(a*)*b against a 50 KB query value completes', () => {
    const d = matchHttpRoute(table, request({ authority: 'a', query: `q=${a50k}` }));
    assert.equal(d.kind === 'route' && d.rule.route.name, 'rest');
  });
  test('the pattern still matches what it should', () => {
    const d = matchHttpRoute(table, request({ authority: 'a', path: `/${'a'.repeat(10)}` }));
    assert.equal(d.kind, 'route');
    assert.equal(d.kind === 'route' ? d.rule.route.name : '', 'rest', 'a leading "/" is not in (a+)+$');
    const e = matchHttpRoute(table, request({ authority: 'a', headers: { 'x-v': 'aaac' } }));
    assert.equal(e.kind === 'route' ? e.rule.route.name : '', 'catastrophic');
  });
});
