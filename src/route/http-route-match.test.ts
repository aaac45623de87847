import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpMatch, HttpRoute } from '../proxyconfig/types.js';
import { compileRoutes, hostMatches, matchRoutes } from './http-route-match.js';
import { compileStringMatch } from './string-match.js';
import type { RouteRequest } from './http-route-match.js';

function request(over: Partial<RouteRequest> = {}): RouteRequest {
  return { path: '/', query: undefined, method: 'GET', authority: 'bookinfo.com', scheme: 'http', port: 80, headers: {}, ...over };
}
function route(name: string, match: HttpMatch[]): HttpRoute {
  return { source: `default/vs#${name}`, name, match, destinations: [{ host: 'web.default.svc.cluster.local', port: 80, weight: 100 }], timeoutMs: 0 };
}
function matches(m: HttpMatch, req: Partial<RouteRequest>): boolean {
  return matchRoutes(compileRoutes([route('only', [m])]), request(req)) !== undefined;
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
  // Envoy's case_sensitive: false applies to path and prefix only; a regex says (?i) itself.
  { name: 'uri regex ignores ignoreUriCase', match: { uri: { regex: '/Users/.*' }, ignoreUriCase: true }, req: { path: '/USERS/x' }, want: false },
  { name: 'uri regex (?i) flag', match: { uri: { regex: '(?i)/Users/.*' } }, req: { path: '/USERS/x' }, want: true },
  { name: 'uri prefix ignoreUriCase needs the whole prefix', match: { uri: { prefix: '/API/v1' }, ignoreUriCase: true }, req: { path: '/api' }, want: false },
  { name: 'uri any (present) matches every path', match: { uri: { present: true } }, req: { path: '/x' }, want: true },
  { name: 'uri empty prefix matches every path', match: { uri: { prefix: '' } }, req: { path: '/x' }, want: true },
  { name: 'uri regex with a dot does not cross a newline', match: { uri: { regex: '/a.*' } }, req: { path: '/a\nb' }, want: false },
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
  { name: 'header presence', match: { headers: { 'x-canary': { present: true } } }, req: { headers: { 'x-canary': '' } }, want: true },
  { name: 'header presence absent', match: { headers: { 'x-canary': { present: true } } }, req: {}, want: false },
  { name: 'header regex on a missing header does not match even if it accepts ""', match: { headers: { 'x-v': { regex: '.*' } } }, req: {}, want: false },
  { name: 'header value with CR LF is matched as data, anchored', match: { headers: { 'x-v': { exact: 'a' } } }, req: { headers: { 'x-v': 'a\r\nx-admin: 1' } }, want: false },
  { name: 'header regex with . does not match CR/LF', match: { headers: { 'x-v': { regex: 'a.*' } } }, req: { headers: { 'x-v': 'a\r\nb' } }, want: false },
  { name: 'header name from request is looked up lower-case only', match: { headers: { 'x-v': { exact: 'a' } } }, req: { headers: { 'X-V': 'a' } }, want: false },
  { name: 'header regex on a cookie (reference example)', match: { headers: { cookie: { regex: '^(.*?;)?(user=jason)(;.*)?$' } } }, req: { headers: { cookie: 'a=1;user=jason;b=2' } }, want: true },
  { name: 'repeated header values join with commas', match: { headers: { 'x-v': { exact: 'a,b' } } }, req: { headers: { 'x-v': ['a', 'b'] } }, want: true },
  { name: 'withoutHeaders: header absent matches', match: { withoutHeaders: { 'x-debug': { exact: '1' } } }, req: {}, want: true },
  { name: 'withoutHeaders: header with that value excludes', match: { withoutHeaders: { 'x-debug': { exact: '1' } } }, req: { headers: { 'x-debug': '1' } }, want: false },
  { name: 'withoutHeaders: other value matches', match: { withoutHeaders: { 'x-debug': { exact: '1' } } }, req: { headers: { 'x-debug': '0' } }, want: true },
  { name: 'withoutHeaders present (Istio regex "*"): any value excludes', match: { withoutHeaders: { 'x-debug': { present: true } } }, req: { headers: { 'x-debug': 'yes' } }, want: false },
  { name: 'withoutHeaders present: an empty value excludes too', match: { withoutHeaders: { 'x-debug': { present: true } } }, req: { headers: { 'x-debug': '' } }, want: false },
  { name: 'withoutHeaders present: absent header matches', match: { withoutHeaders: { 'x-debug': { present: true } } }, req: {}, want: true },
  // Istio sets treat_missing_header_as_empty: a missing header is "", and a regex accepting "" then excludes it.
  { name: 'withoutHeaders regex accepting "" excludes a missing header', match: { withoutHeaders: { 'x-debug': { regex: '.*' } } }, req: {}, want: false },
  { name: 'withoutHeaders regex', match: { withoutHeaders: { 'x-debug': { regex: '[0-9]+' } } }, req: { headers: { 'x-debug': 'on' } }, want: true },
  { name: 'queryParams exact', match: { queryParams: { v: { exact: '2' } } }, req: { query: new URLSearchParams('v=2&x=1') }, want: true },
  { name: 'queryParams exact miss', match: { queryParams: { v: { exact: '2' } } }, req: { query: new URLSearchParams('v=20') }, want: false },
  { name: 'queryParams regex full match', match: { queryParams: { id: { regex: '[0-9]+' } } }, req: { query: new URLSearchParams('id=12a') }, want: false },
  { name: 'queryParams missing parameter', match: { queryParams: { v: { exact: '2' } } }, req: { query: new URLSearchParams('w=2') }, want: false },
  { name: 'queryParams with no query at all', match: { queryParams: { v: { present: true } } }, req: { query: undefined }, want: false },
  { name: 'queryParams raw string: first occurrence wins', match: { queryParams: { v: { exact: '1' } } }, req: { query: 'v=1&v=2' }, want: true },
  { name: 'queryParams raw string: later occurrence ignored', match: { queryParams: { v: { exact: '2' } } }, req: { query: 'v=1&v=2' }, want: false },
  { name: 'queryParams raw string: values are not decoded', match: { queryParams: { q: { exact: 'a b' } } }, req: { query: 'q=a%20b' }, want: false },
  { name: 'queryParams raw string: encoded value matches as written', match: { queryParams: { q: { exact: 'a%20b' } } }, req: { query: 'q=a%20b' }, want: true },
  { name: 'queryParams raw string: a key without = has the value ""', match: { queryParams: { debug: { present: true } } }, req: { query: 'x=1&debug' }, want: true },
  { name: 'queryParams raw string: a key is not a prefix of another', match: { queryParams: { v: { present: true } } }, req: { query: 'vv=1' }, want: false },
  { name: 'queryParams raw string: exact "" on an empty value', match: { queryParams: { v: { exact: '' } } }, req: { query: 'v=' }, want: true },
  { name: 'query parameter names are case-sensitive', match: { queryParams: { V: { exact: '2' } } }, req: { query: new URLSearchParams('v=2') }, want: false },
  { name: 'all conditions of one entry must hold', match: { uri: { prefix: '/api' }, method: { exact: 'GET' } }, req: { path: '/api/x', method: 'POST' }, want: false },
  { name: 'empty match entry matches anything', match: {}, req: { path: '/anything', method: 'DELETE' }, want: true },
];

describe('HTTPMatchRequest semantics', () => {
  for (const row of rows) test(row.name, () => assert.equal(matches(row.match, row.req), row.want));
});

describe('matchRoutes: order and OR across match entries', () => {
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
    test(`${req.path ?? ''} → ${want}`, () => assert.equal(matchRoutes(routes, request(req))?.rule.route.name, want));
  }

  test('no route matches: undefined', () => {
    assert.equal(matchRoutes(compileRoutes([route('a', [{ uri: { exact: '/a' } }])]), request({ path: '/b' })), undefined);
    assert.equal(matchRoutes([], request()), undefined);
  });

  test('an invalid regex fails at compile time, not per request', () => {
    assert.throws(() => compileRoutes([route('bad', [{ uri: { regex: '(' } }])]), SyntaxError);
  });

  test('what RE2 refuses does not compile: backreferences, lookahead, lookbehind', () => {
    for (const regex of ['(a)\\1', '(?=a)b', '(?<=a)b', '(?!a)']) {
      assert.throws(() => compileRoutes([route('bad', [{ uri: { regex } }])]), SyntaxError, regex);
    }
  });

  test('compileStringMatch on its own', () => {
    assert.equal(compileStringMatch({ exact: 'A' }, true).test('a'), true);
    assert.equal(compileStringMatch({ exact: 'A' }).test('a'), false);
    assert.equal(compileStringMatch({ regex: 'a.c' }).test('abc'), true);
    assert.equal(compileStringMatch({ regex: 'a.c' }).test('xabc'), false);
    assert.equal(compileStringMatch({ present: true }).test(''), true);
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
