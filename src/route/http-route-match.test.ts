import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpMatch, HttpRoute } from '../proxyconfig/types.js';
import { compileRoutes, compileStringMatch, hostMatches, selectRoute } from './http-route-match.js';
import type { RouteRequest } from './http-route-match.js';

function request(over: Partial<RouteRequest> = {}): RouteRequest {
  return { path: '/', query: undefined, method: 'GET', authority: 'bookinfo.com', scheme: 'http', port: 80, headers: {}, ...over };
}
function route(name: string, match: HttpMatch[]): HttpRoute {
  return { source: `default/vs#${name}`, name, match, destinations: [{ host: 'web.default.svc.cluster.local', port: 80, weight: 100 }], timeoutMs: 0 };
}
function matches(m: HttpMatch, req: Partial<RouteRequest>): boolean {
  return selectRoute(compileRoutes([route('only', [m])]), request(req)) !== undefined;
}

/*
 * Rows from Istio's VirtualService reference (HTTPMatchRequest and StringMatch): exact, prefix, and RE2 regex that
 * must match the whole value ("ECMAscript style regex-based match" became full-match RE2); ignoreUriCase applies to
 * the uri only; header names are lower-case, values case-sensitive; an empty header match means "present";
 * withoutHeaders negates; queryParams match on the parameter's value; method and authority are case-sensitive; all
 * conditions within one HTTPMatchRequest are ANDed.
 */
const rows: Array<{ name: string; match: HttpMatch; req: Partial<RouteRequest>; want: boolean }> = [
  { name: 'uri exact hit', match: { uri: { exact: '/productpage' } }, req: { path: '/productpage' }, want: true },
  { name: 'uri exact: trailing slash differs', match: { uri: { exact: '/productpage' } }, req: { path: '/productpage/' }, want: false },
  { name: 'uri exact is case-sensitive', match: { uri: { exact: '/productpage' } }, req: { path: '/ProductPage' }, want: false },
  { name: 'uri exact ignoreUriCase', match: { uri: { exact: '/productpage' }, ignoreUriCase: true }, req: { path: '/ProductPage' }, want: true },
  { name: 'uri prefix hit', match: { uri: { prefix: '/api/v1' } }, req: { path: '/api/v1/users' }, want: true },
  { name: 'uri prefix is a string prefix, not a segment prefix', match: { uri: { prefix: '/api/v1' } }, req: { path: '/api/v10' }, want: true },
  { name: 'uri prefix miss', match: { uri: { prefix: '/api/v1' } }, req: { path: '/api' }, want: false },
  { name: 'uri prefix ignoreUriCase', match: { uri: { prefix: '/API/' }, ignoreUriCase: true }, req: { path: '/api/x' }, want: true },
  { name: 'uri regex full match', match: { uri: { regex: '/users/[0-9]+' } }, req: { path: '/users/42' }, want: true },
  { name: 'uri regex must match the whole path (suffix)', match: { uri: { regex: '/users/[0-9]+' } }, req: { path: '/users/42/edit' }, want: false },
  { name: 'uri regex must match the whole path (prefix)', match: { uri: { regex: '/users/[0-9]+' } }, req: { path: '/v1/users/42' }, want: false },
  { name: 'uri regex alternation stays anchored', match: { uri: { regex: '/a|/b' } }, req: { path: '/b/c' }, want: false },
  { name: 'uri regex ignoreUriCase', match: { uri: { regex: '/Users/.*' }, ignoreUriCase: true }, req: { path: '/USERS/x' }, want: true },
  { name: 'method exact', match: { method: { exact: 'POST' } }, req: { method: 'POST' }, want: true },
  { name: 'method is case-sensitive', match: { method: { exact: 'post' } }, req: { method: 'POST' }, want: false },
  { name: 'method regex', match: { method: { regex: 'GET|HEAD' } }, req: { method: 'HEAD' }, want: true },
  { name: 'authority prefix', match: { authority: { prefix: 'bookinfo' } }, req: { authority: 'bookinfo.com' }, want: true },
  { name: 'scheme exact', match: { scheme: { exact: 'https' } }, req: { scheme: 'http' }, want: false },
  { name: 'port', match: { port: 8080 }, req: { port: 8080 }, want: true },
  { name: 'port miss', match: { port: 8080 }, req: { port: 80 }, want: false },
  { name: 'header exact', match: { headers: { 'end-user': { exact: 'jason' } } }, req: { headers: { 'end-user': 'jason' } }, want: true },
  { name: 'header value is case-sensitive', match: { headers: { 'end-user': { exact: 'jason' } } }, req: { headers: { 'end-user': 'Jason' } }, want: false },
  { name: 'header name from config is lower-cased', match: { headers: { 'End-User': { exact: 'jason' } } }, req: { headers: { 'end-user': 'jason' } }, want: true },
  { name: 'header missing', match: { headers: { 'end-user': { exact: 'jason' } } }, req: {}, want: false },
  { name: 'header presence (empty prefix)', match: { headers: { 'x-canary': { prefix: '' } } }, req: { headers: { 'x-canary': '' } }, want: true },
  { name: 'header presence absent', match: { headers: { 'x-canary': { prefix: '' } } }, req: {}, want: false },
  { name: 'header regex on a cookie (reference example)', match: { headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } }, req: { headers: { cookie: 'a=1;user=jason;b=2' } }, want: true },
  { name: 'repeated header values join with commas', match: { headers: { 'x-v': { exact: 'a,b' } } }, req: { headers: { 'x-v': ['a', 'b'] } }, want: true },
  { name: 'withoutHeaders: header absent matches', match: { withoutHeaders: { 'x-debug': { exact: '1' } } }, req: {}, want: true },
  { name: 'withoutHeaders: header with that value excludes', match: { withoutHeaders: { 'x-debug': { exact: '1' } } }, req: { headers: { 'x-debug': '1' } }, want: false },
  { name: 'withoutHeaders: other value matches', match: { withoutHeaders: { 'x-debug': { exact: '1' } } }, req: { headers: { 'x-debug': '0' } }, want: true },
  { name: 'withoutHeaders presence: any value excludes', match: { withoutHeaders: { 'x-debug': { prefix: '' } } }, req: { headers: { 'x-debug': 'yes' } }, want: false },
  { name: 'queryParams exact', match: { queryParams: { v: { exact: '2' } } }, req: { query: new URLSearchParams('v=2&x=1') }, want: true },
  { name: 'queryParams exact miss', match: { queryParams: { v: { exact: '2' } } }, req: { query: new URLSearchParams('v=20') }, want: false },
  { name: 'queryParams regex full match', match: { queryParams: { id: { regex: '[0-9]+' } } }, req: { query: new URLSearchParams('id=12a') }, want: false },
  { name: 'queryParams missing parameter', match: { queryParams: { v: { exact: '2' } } }, req: { query: new URLSearchParams('w=2') }, want: false },
  { name: 'queryParams with no query at all', match: { queryParams: { v: { prefix: '' } } }, req: { query: undefined }, want: false },
  { name: 'query parameter names are case-sensitive', match: { queryParams: { V: { exact: '2' } } }, req: { query: new URLSearchParams('v=2') }, want: false },
  { name: 'all conditions of one entry must hold', match: { uri: { prefix: '/api' }, method: { exact: 'GET' } }, req: { path: '/api/x', method: 'POST' }, want: false },
  { name: 'empty match entry matches anything', match: {}, req: { path: '/anything', method: 'DELETE' }, want: true },
];

describe('HTTPMatchRequest semantics', () => {
  for (const row of rows) test(row.name, () => assert.equal(matches(row.match, row.req), row.want));
});

describe('selectRoute: order and OR across match entries', () => {
  // Istio: "the first rule matching an incoming request is used"; match entries within one rule are ORed.
  const routes = compileRoutes([
    route('v1', [{ uri: { prefix: '/usrv-expand' } }]),
    route('or', [{ headers: { 'end-user': { exact: 'jason' } } }, { queryParams: { canary: { exact: 'true' } } }]),
    route('shadowed', [{ uri: { prefix: '/usrv' } }]),
    route('prefix', [{ uri: { prefix: '/usrv' } }]),
    route('default', []),
  ]);
  const cases: Array<[Partial<RouteRequest>, string]> = [
    [{ path: '/usrv-expand/x' }, 'v1'],
    [{ path: '/usrv/x', headers: { 'end-user': 'jason' } }, 'or'],
    [{ path: '/usrv/x', query: new URLSearchParams('canary=true') }, 'or'],
    [{ path: '/usrv/x' }, 'shadowed'],
    [{ path: '/other' }, 'default'],
  ];
  for (const [req, want] of cases) {
    test(`${req.path ?? ''} → ${want}`, () => assert.equal(selectRoute(routes, request(req))?.route.name, want));
  }

  test('no route matches: undefined', () => {
    assert.equal(selectRoute(compileRoutes([route('a', [{ uri: { exact: '/a' } }])]), request({ path: '/b' })), undefined);
    assert.equal(selectRoute([], request()), undefined);
  });

  test('an invalid regex fails at compile time, not per request', () => {
    assert.throws(() => compileRoutes([route('bad', [{ uri: { regex: '(' } }])]), SyntaxError);
  });

  test('compileStringMatch on its own', () => {
    assert.equal(compileStringMatch({ exact: 'A' }, true)('a'), true);
    assert.equal(compileStringMatch({ exact: 'A' })('a'), false);
    assert.equal(compileStringMatch({ regex: 'a.c' })('abc'), true);
    assert.equal(compileStringMatch({ regex: 'a.c' })('xabc'), false);
  });
});

describe('hostMatches', () => {
  // Istio host matching for virtual hosts (Envoy domains): exact, `*.suffix` needs at least one more label character, `*` anything.
  const rows: Array<[pattern: string, host: string, want: boolean]> = [
    ['*', 'anything.example.com', true],
    ['*', 'localhost', true],
    ['bookinfo.com', 'bookinfo.com', true],
    ['bookinfo.com', 'www.bookinfo.com', false],
    ['*.example.com', 'dev.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'newexample.com', false],
    ['*.example.com', '*.dev.example.com', true],
    ['dev.example.com', '*.example.com', false],
  ];
  for (const [pattern, host, want] of rows) test(`${pattern} vs ${host} → ${String(want)}`, () => assert.equal(hostMatches(pattern, host), want));
});
