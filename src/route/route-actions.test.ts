import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HttpMatch, HttpRoute } from '../proxyconfig/types.js';
import { compileRoutes, matchRoutes } from './http-route-match.js';
import type { MatchedRoute, RouteRequest } from './http-route-match.js';
import { rewriteAuthority, rewritePath } from './rewrite.js';
import { redirectFor } from './redirect.js';
import { applyRequestHeaders, applyResponseHeaders } from './header-operations.js';
import type { HeaderBag } from './header-operations.js';
import { decideFault, NO_FAULT } from './fault.js';
import { selectMirrors } from './mirror.js';
import { evaluateCors } from './cors.js';

function request(over: Partial<RouteRequest> = {}): RouteRequest {
  return { path: '/', query: '', method: 'GET', authority: 'example.com', scheme: 'http', port: 80, headers: {}, ...over };
}
function route(extra: Partial<HttpRoute>, match: HttpMatch[] = []): HttpRoute {
  return { source: 'default/vs#0', name: 'r', match, destinations: [{ host: 'svc.default.svc.cluster.local', port: 80, weight: 100 }], timeoutMs: 0, ...extra };
}
function entry(r: HttpRoute, req: RouteRequest): MatchedRoute {
  const m = matchRoutes(compileRoutes([r]), req);
  assert.ok(m, 'the route matches');
  return m;
}

describe('rewrite (Envoy prefix_rewrite and regex_rewrite)', () => {
  const rows: Array<{ name: string; match: HttpMatch[]; rewrite: NonNullable<HttpRoute['rewrite']>; path: string; want: string }> = [
    // Istio reference: "/ratings" prefix rewritten to "/v1/bookRatings".
    { name: 'prefix match: the matched prefix is replaced', match: [{ uri: { prefix: '/ratings' } }], rewrite: { uri: '/v1/bookRatings' }, path: '/ratings/2', want: '/v1/bookRatings/2' },
    { name: 'prefix match with ignoreUriCase: the matched length is replaced', match: [{ uri: { prefix: '/Ratings' }, ignoreUriCase: true }], rewrite: { uri: '/r' }, path: '/RATINGS/2', want: '/r/2' },
    { name: 'exact match: the whole path is replaced', match: [{ uri: { exact: '/productpage' } }], rewrite: { uri: '/new' }, path: '/productpage', want: '/new' },
    { name: 'regex match: the whole path is replaced', match: [{ uri: { regex: '/p/[0-9]+' } }], rewrite: { uri: '/new' }, path: '/p/12', want: '/new' },
    { name: 'no uri match: Istio prefix "/" so only the leading "/" is replaced', match: [{ headers: { a: { present: true } } }], rewrite: { uri: '/v2' }, path: '/items', want: '/v2items' },
    { name: 'no match at all: same as prefix "/"', match: [], rewrite: { uri: '/v2/' }, path: '/items', want: '/v2/items' },
    { name: 'prefix "/" rewritten to "/" keeps the path', match: [{ uri: { prefix: '/' } }], rewrite: { uri: '/' }, path: '/a/b', want: '/a/b' },
    { name: 'prefix "/api/" to "/" strips it', match: [{ uri: { prefix: '/api/' } }], rewrite: { uri: '/' }, path: '/api/users', want: '/users' },
    // Envoy's documented regex_rewrite example: ^/service/([^/]+)(/.*)$ with \2/instance/\1.
    {
      name: 'uriRegexRewrite with groups (Envoy example)',
      match: [],
      rewrite: { uriRegexRewrite: { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' } },
      path: '/service/foo/v1/api',
      want: '/v1/api/instance/foo',
    },
    // Istio reference Example 2: every match is replaced, case-insensitively with (?i).
    { name: 'uriRegexRewrite case-insensitive, every match', match: [], rewrite: { uriRegexRewrite: { match: '(?i)/xxx/', rewrite: '/yyy/' } }, path: '/aaa/XxX/bbb/xxx/', want: '/aaa/yyy/bbb/yyy/' },
    { name: 'uriRegexRewrite with \\\\ inserts a backslash', match: [], rewrite: { uriRegexRewrite: { match: '/a', rewrite: '/b\\\\' } }, path: '/a', want: '/b\\' },
    { name: 'uriRegexRewrite without a match leaves the path', match: [], rewrite: { uriRegexRewrite: { match: '^/nomatch', rewrite: '/x' } }, path: '/a', want: '/a' },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const req = request({ path: row.path, headers: { a: '1' } });
      assert.equal(rewritePath(entry(route({ rewrite: row.rewrite }, row.match), req), row.path), row.want);
    });
  }

  test('a route without rewrite returns the same path', () => {
    const req = request({ path: '/x' });
    assert.equal(rewritePath(entry(route({}), req), '/x'), '/x');
  });

  test('authority: the route wins over the destination, the destination over the client', () => {
    const dest = { host: 'a', port: 80, weight: 100, authority: 'dest.example' };
    assert.equal(rewriteAuthority(entry(route({ rewrite: { authority: 'route.example' } }), request()), dest, 'client'), 'route.example');
    assert.equal(rewriteAuthority(entry(route({}), request()), dest, 'client'), 'dest.example');
    assert.equal(rewriteAuthority(entry(route({}), request()), undefined, 'client'), 'client');
  });
});

describe('redirect (Envoy RedirectAction, Istio defaults)', () => {
  const rows: Array<{ name: string; redirect: NonNullable<HttpRoute['redirect']>; match?: HttpMatch[]; req: Partial<RouteRequest>; query?: string; want: [number, string] }> = [
    // Istio reference: /v1/getProductRatings redirected to /v1/bookRatings on newratings.default.svc.cluster.local.
    {
      name: 'uri and authority (reference example)',
      redirect: { uri: '/v1/bookRatings', authority: 'newratings.default.svc.cluster.local', code: 301 },
      match: [{ uri: { exact: '/v1/getProductRatings' } }],
      req: { path: '/v1/getProductRatings', authority: 'ratings.prod.svc.cluster.local' },
      want: [301, 'http://newratings.default.svc.cluster.local/v1/bookRatings'],
    },
    { name: 'uri keeps the query', redirect: { uri: '/b', code: 302 }, req: { path: '/a' }, query: 'x=1', want: [302, 'http://example.com/b?x=1'] },
    { name: 'a uri with a query replaces the query', redirect: { uri: '/b?y=2', code: 301 }, req: { path: '/a' }, query: 'x=1', want: [301, 'http://example.com/b?y=2'] },
    { name: 'scheme only: https, host keeps a non-default port', redirect: { scheme: 'https', code: 301 }, req: { path: '/a', authority: 'example.com:8080' }, want: [301, 'https://example.com:8080/a'] },
    { name: 'scheme change drops the old scheme default port', redirect: { scheme: 'https', code: 301 }, req: { path: '/a', authority: 'example.com:80' }, want: [301, 'https://example.com/a'] },
    { name: 'explicit port', redirect: { port: 8443, scheme: 'https', code: 308 }, req: { path: '/a', authority: 'example.com:80' }, want: [308, 'https://example.com:8443/a'] },
    { name: 'port 443 with https is left out', redirect: { port: 443, scheme: 'https', code: 301 }, req: { path: '/a', authority: 'example.com:8080' }, want: [301, 'https://example.com:8080/a'] },
    { name: 'FROM_REQUEST_PORT uses the listener port', redirect: { port: 'request', authority: 'other.com', code: 301 }, req: { path: '/a', port: 8080, authority: 'example.com:8080' }, want: [301, 'http://other.com:8080/a'] },
    { name: 'FROM_REQUEST_PORT on 80 with http is left out', redirect: { port: 'request', authority: 'other.com', code: 301 }, req: { path: '/a', port: 80 }, want: [301, 'http://other.com/a'] },
    { name: 'prefixRewrite replaces the matched prefix', redirect: { prefixRewrite: '/bar', code: 301 }, match: [{ uri: { prefix: '/foo' } }], req: { path: '/foo/baz' }, want: [301, 'http://example.com/bar/baz'] },
    // Istio's documented caveat: prefix /foo with prefixRewrite "/" gives //baz.
    { name: 'prefixRewrite "/" after /foo gives //baz', redirect: { prefixRewrite: '/', code: 301 }, match: [{ uri: { prefix: '/foo' } }], req: { path: '/foo/baz' }, want: [301, 'http://example.com//baz'] },
    { name: 'authority only keeps path and query', redirect: { authority: 'b.com', code: 307 }, req: { path: '/p' }, query: 'q=1', want: [307, 'http://b.com/p?q=1'] },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const req = request(row.req);
      const got = redirectFor(entry(route({ destinations: [], redirect: row.redirect }, row.match ?? []), req), req, row.query ?? '');
      assert.deepEqual(got && [got.status, got.location], row.want);
    });
  }
  test('a forwarding route has no redirect', () => assert.equal(redirectFor(entry(route({}), request()), request(), ''), undefined));
});

describe('header operations and their precedence', () => {
  const r = route({
    headers: { request: { set: [['x-route', 'r'], ['x-both', 'route']], add: [['x-multi', 'route']], remove: ['x-secret'] }, response: { set: [], add: [], remove: ['server'] } },
    destinations: [
      { host: 'a', port: 80, weight: 100, headers: { request: { set: [['x-both', 'dest']], add: [['x-multi', 'dest']], remove: [] }, response: { set: [['x-dest', 'v1']], add: [], remove: [] } } },
    ],
  });
  const e = entry(r, request());

  test('route then destination: removals, set, add; a destination set wins', () => {
    const h: HeaderBag = { 'x-secret': 'k', 'x-multi': 'client', 'x-both': 'client' };
    applyRequestHeaders(e, r.destinations[0], h);
    assert.deepEqual(h, { 'x-route': 'r', 'x-both': 'dest', 'x-multi': ['client', 'route', 'dest'] });
  });
  test('response operations', () => {
    const h: HeaderBag = { server: 'app', 'content-type': 'text/plain' };
    applyResponseHeaders(e, r.destinations[0], h);
    assert.deepEqual(h, { 'content-type': 'text/plain', 'x-dest': 'v1' });
  });
  test('names are case-insensitive and written lower case', () => {
    const r2 = route({ headers: { request: { set: [['X-Upper', 'v']], add: [], remove: ['X-Remove'] } } });
    const h: HeaderBag = { 'x-remove': '1' };
    applyRequestHeaders(entry(r2, request()), undefined, h);
    assert.deepEqual(h, { 'x-upper': 'v' });
  });
});

describe('fault injection (fault-injection task)', () => {
  // ratings-test-delay: 7s delay for 100% of jason's requests; ratings-test-abort: 500 for 100%.
  test('100% delay always delays', () => assert.deepEqual(decideFault({ delay: { fixedDelayMs: 7000, percent: 100 } }, () => 0.999), { delayMs: 7000, abort: undefined }));
  test('100% abort always aborts with the status', () =>
    assert.deepEqual(decideFault({ abort: { httpStatus: 500, percent: 100 } }, () => 0.999), { delayMs: 0, abort: { httpStatus: 500, grpcStatus: undefined } }));
  test('0% never injects and draws nothing', () => assert.equal(decideFault({ delay: { fixedDelayMs: 5, percent: 0 }, abort: { httpStatus: 500, percent: 0 } }, () => assert.fail('no draw')), NO_FAULT));
  test('no fault', () => assert.equal(decideFault(undefined, () => 0), NO_FAULT));
  const draws: Array<[number, boolean]> = [
    [0, true],
    [0.099, true],
    [0.1, false],
    [0.5, false],
  ];
  for (const [r, hit] of draws) {
    test(`10% abort with random ${r} → ${hit ? 'abort' : 'pass'}`, () => assert.equal(decideFault({ abort: { httpStatus: 503, percent: 10 } }, () => r).abort !== undefined, hit));
  }
  test('delay and abort are drawn independently', () => {
    const seq = [0.05, 0.9];
    const d = decideFault({ delay: { fixedDelayMs: 100, percent: 10 }, abort: { httpStatus: 500, percent: 10 } }, () => seq.shift()!);
    assert.deepEqual(d, { delayMs: 100, abort: undefined });
  });
  test('a gRPC abort answers HTTP 200 with the gRPC status', () =>
    assert.deepEqual(decideFault({ abort: { grpcStatus: 14, percent: 100 } }, () => 0).abort, { httpStatus: 200, grpcStatus: 14 }));
});

describe('mirroring (mirroring task)', () => {
  const m = (percent: number): NonNullable<HttpRoute['mirrors']>[number] => ({ host: 'httpbin.default.svc.cluster.local', port: 8000, subset: 'v2', percent });
  test('100% mirrors every request', () => assert.equal(selectMirrors(route({ mirrors: [m(100)] }), () => 0.999).length, 1));
  test('no mirrors', () => assert.equal(selectMirrors(route({}), () => 0).length, 0));
  const rows: Array<[number, number, number]> = [
    [50, 0.49, 1],
    [50, 0.5, 0],
    [0.5, 0.004, 1],
    [0.5, 0.005, 0],
  ];
  for (const [percent, r, want] of rows) test(`${percent}% with random ${r} → ${want}`, () => assert.equal(selectMirrors(route({ mirrors: [m(percent)] }), () => r).length, want));
  test('several mirrors draw on their own', () => {
    const seq = [0.1, 0.9];
    const got = selectMirrors(route({ mirrors: [m(50), { ...m(50), subset: 'v3' }] }), () => seq.shift()!);
    assert.deepEqual(
      got.map((x) => x.subset),
      ['v2'],
    );
  });
});

describe('CORS (Envoy CORS filter)', () => {
  const cors = {
    allowOrigins: [{ exact: 'https://example.com' }, { regex: 'https://.*\\.trusted\\.org' }],
    allowMethods: ['POST', 'GET'],
    allowHeaders: ['X-Foo-Bar'],
    exposeHeaders: ['X-Expose'],
    maxAgeSeconds: 86400,
    allowCredentials: true,
    unmatchedPreflights: 'FORWARD' as const,
  };
  const compiled = compileRoutes([route({ cors })])[0]!.cors;
  const preflight = (origin: string): HeaderBag => ({ origin, 'access-control-request-method': 'POST' });

  test('no Origin: not a CORS request', () => assert.deepEqual(evaluateCors(compiled, 'GET', {}), { kind: 'not-cors' }));
  test('preflight from an allowed origin is answered with every allow header', () =>
    assert.deepEqual(evaluateCors(compiled, 'OPTIONS', preflight('https://example.com')), {
      kind: 'preflight',
      headers: [
        ['access-control-allow-origin', 'https://example.com'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-allow-methods', 'POST,GET'],
        ['access-control-allow-headers', 'X-Foo-Bar'],
        ['access-control-max-age', '86400'],
      ],
    }));
  test('regex origins match whole origins', () => {
    assert.equal(evaluateCors(compiled, 'OPTIONS', preflight('https://a.trusted.org')).kind, 'preflight');
    assert.deepEqual(evaluateCors(compiled, 'OPTIONS', preflight('https://a.trusted.org.evil.com')), { kind: 'forward', responseHeaders: [] });
  });
  test('preflight from another origin is forwarded by default', () => assert.deepEqual(evaluateCors(compiled, 'OPTIONS', preflight('https://evil.com')), { kind: 'forward', responseHeaders: [] }));
  test('IGNORE answers an unmatched preflight without CORS headers', () => {
    const ignoring = compileRoutes([route({ cors: { ...cors, unmatchedPreflights: 'IGNORE' } })])[0]!.cors;
    assert.deepEqual(evaluateCors(ignoring, 'OPTIONS', preflight('https://evil.com')), { kind: 'preflight', headers: [] });
  });
  test('OPTIONS without Access-Control-Request-Method is an ordinary request', () =>
    assert.equal(evaluateCors(compiled, 'OPTIONS', { origin: 'https://example.com' }).kind, 'forward'));
  test('an actual request from an allowed origin gains allow-origin, credentials and expose headers', () =>
    assert.deepEqual(evaluateCors(compiled, 'POST', { origin: 'https://example.com' }), {
      kind: 'forward',
      responseHeaders: [
        ['access-control-allow-origin', 'https://example.com'],
        ['access-control-allow-credentials', 'true'],
        ['access-control-expose-headers', 'X-Expose'],
      ],
    }));
  test('an exact "*" origin allows every origin (Envoy)', () => {
    const any = compileRoutes([route({ cors: { ...cors, allowOrigins: [{ exact: '*' }] } })])[0]!.cors;
    assert.equal(evaluateCors(any, 'OPTIONS', preflight('https://whatever.io')).kind, 'preflight');
  });
  test('a route without corsPolicy never answers CORS', () => assert.deepEqual(evaluateCors(undefined, 'OPTIONS', preflight('https://example.com')), { kind: 'not-cors' }));
});

describe('direct response body', () => {
  test('string and base64 bodies decode once', () => {
    const [a, b] = compileRoutes([
      route({ destinations: [], directResponse: { status: 503, body: { string: 'unknown error' } } }),
      route({ destinations: [], directResponse: { status: 200, body: { base64: Buffer.from([0, 1, 2]).toString('base64') } } }),
    ]);
    assert.equal(a!.directBody?.toString('utf8'), 'unknown error');
    assert.deepEqual([...b!.directBody!], [0, 1, 2]);
  });
});
