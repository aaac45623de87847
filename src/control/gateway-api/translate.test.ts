/**
 * Gateway API conformance cases (gateway-api conformance/tests/*.go, named below), run through the translation,
 * the compile and the proxy's route engine: each row is a request from the suite and what it must get.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, load, send } from './conformance.fixture.js';

const route = (name: string, body: string, namespace = 'gateway-conformance-infra', gateway = 'same-namespace'): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  parentRefs: [{ name: ${gateway}, namespace: gateway-conformance-infra }]
${body}`;

type Row = [string, Parameters<typeof send>[1], string, string?];

function table(caseName: string, yaml: string[], rows: Row[]): void {
  describe(caseName, () => {
    const resources = load(BASE, ...yaml);
    for (const [name, req, want, path] of rows) {
      test(name, () => {
        const got = send(resources, req);
        assert.equal(got.answer, want);
        if (path !== undefined) assert.equal(got.path, path);
      });
    }
  });
}

table('HTTPRouteExactPathMatching', [
  route('exact-matching', `  rules:
  - { matches: [{ path: { type: Exact, value: /one } }], backendRefs: [{ name: infra-backend-v1, port: 8080 }] }
  - { matches: [{ path: { type: Exact, value: /two } }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }`),
], [
  ['/one', { path: '/one' }, 'infra-backend-v1:8080'],
  ['/two', { path: '/two' }, 'infra-backend-v2:8080'],
  ['/one/example is not /one', { path: '/one/example' }, '404'],
  ['/two/ is not /two', { path: '/two/' }, '404'],
]);

table('HTTPRouteMatching (PathPrefix is per path segment; header matches)', [
  route('matching', `  rules:
  - { matches: [{ path: { type: PathPrefix, value: / } }], backendRefs: [{ name: infra-backend-v1, port: 8080 }] }
  - { matches: [{ path: { type: PathPrefix, value: /v2 } }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }
  - { matches: [{ path: { type: PathPrefix, value: /v3/ } }], backendRefs: [{ name: infra-backend-v3, port: 8080 }] }`),
], [
  ['/', { path: '/' }, 'infra-backend-v1:8080'],
  ['/example', { path: '/example' }, 'infra-backend-v1:8080'],
  ['/v2', { path: '/v2' }, 'infra-backend-v2:8080'],
  ['/v2/example', { path: '/v2/example' }, 'infra-backend-v2:8080'],
  ['/v2example is not in /v2', { path: '/v2example' }, 'infra-backend-v1:8080'],
  ['/v3 matches the prefix /v3/ (trailing slash ignored)', { path: '/v3' }, 'infra-backend-v3:8080'],
  ['/v3/x', { path: '/v3/x' }, 'infra-backend-v3:8080'],
]);

table('HTTPRouteHeaderMatching, HTTPRouteQueryParamMatching, HTTPRouteMethodMatching', [
  route('headers', `  rules:
  - { matches: [{ headers: [{ name: version, value: one }] }], backendRefs: [{ name: infra-backend-v1, port: 8080 }] }
  - { matches: [{ headers: [{ name: version, value: two }, { name: color, value: orange }] }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }
  - { matches: [{ queryParams: [{ name: animal, value: whale }] }], backendRefs: [{ name: infra-backend-v3, port: 8080 }] }
  - { matches: [{ queryParams: [{ name: color, type: RegularExpression, value: "bl(ue|ack)" }] }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }
  - { matches: [{ method: POST }], backendRefs: [{ name: infra-backend-v1, port: 8080 }] }`),
], [
  ['header version: one', { headers: { version: 'one' } }, 'infra-backend-v1:8080'],
  ['both headers of the second rule', { headers: { version: 'two', color: 'orange' } }, 'infra-backend-v2:8080'],
  ['one header of two is not a match', { headers: { version: 'two' } }, '404'],
  ['query animal=whale', { query: 'animal=whale' }, 'infra-backend-v3:8080'],
  ['query names are case-sensitive', { query: 'ANIMAL=whale' }, '404'],
  ['query regex', { query: 'color=black' }, 'infra-backend-v2:8080'],
  ['method POST', { method: 'POST' }, 'infra-backend-v1:8080'],
  ['method GET matches nothing', { method: 'GET' }, '404'],
]);

table('HTTPRouteMatchingAcrossRoutes and HTTPRoutePathMatchOrder (precedence across rules and routes)', [
  route('older', `  rules:
  - { matches: [{ path: { type: PathPrefix, value: /match } }], backendRefs: [{ name: infra-backend-v1, port: 8080 }] }
  - { matches: [{ path: { type: PathPrefix, value: /match }, headers: [{ name: x, value: y }] }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }`),
  route('newer', `  rules:
  - { matches: [{ path: { type: PathPrefix, value: /match/exact/one } }], backendRefs: [{ name: infra-backend-v3, port: 8080 }] }
  - { matches: [{ path: { type: Exact, value: /match } }], backendRefs: [{ name: infra-backend-v3, port: 8080 }] }
  - { matches: [{ path: { type: PathPrefix, value: /match }, method: POST }], backendRefs: [{ name: infra-backend-v2, port: 8080 }] }`),
], [
  ['an Exact path beats any prefix', { path: '/match' }, 'infra-backend-v3:8080'],
  ['the longest prefix wins across routes', { path: '/match/exact/one/x' }, 'infra-backend-v3:8080'],
  ['a method match beats headers at equal path', { path: '/match/x', method: 'POST', headers: { x: 'y' } }, 'infra-backend-v2:8080'],
  ['more header matches win at equal path', { path: '/match/x', headers: { x: 'y' } }, 'infra-backend-v2:8080'],
  ['otherwise the older route first', { path: '/match/x' }, 'infra-backend-v1:8080'],
]);

table('HTTPRouteWeight and weight 0', [
  route('weights', `  rules:
  - backendRefs:
    - { name: infra-backend-v1, port: 8080, weight: 70 }
    - { name: infra-backend-v2, port: 8080, weight: 30 }
    - { name: infra-backend-v3, port: 8080, weight: 0 }`),
  route('zero', `  hostnames: [zero.example.com]
  rules:
  - backendRefs: [{ name: infra-backend-v1, port: 8080, weight: 0 }]`),
], [
  ['70/30, weight 0 left out', {}, 'infra-backend-v1:8080*70 infra-backend-v2:8080*30'],
  ['only weight 0: 500', { authority: 'zero.example.com' }, 'direct 500'],
]);

table('HTTPRouteRequestHeaderModifier, HTTPRouteResponseHeaderModifier', [
  route('headers', `  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: X-Header-Set, value: set-overwrites-values }], add: [{ name: X-Header-Add, value: add-appends-values }], remove: [X-Header-Remove] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [{ name: X-Header-Set, value: set }] }
    backendRefs: [{ name: infra-backend-v1, port: 8080 }]`),
], [['headers land on the route', {}, 'infra-backend-v1:8080']]);

describe('HTTPRouteRequestHeaderModifier: the header operations', () => {
  test('set, add and remove as Istio headers with lower-case names', () => {
    const got = send(load(BASE, route('headers', `  rules:
  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: X-Header-Set, value: v1 }], add: [{ name: X-Header-Add, value: v2 }], remove: [X-Header-Remove] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { add: [{ name: X-Resp, value: v3 }] }
    backendRefs: [{ name: infra-backend-v1, port: 8080 }]`)), {});
    assert.deepEqual(JSON.parse(JSON.stringify(got.headers)), {
      request: { set: [['x-header-set', 'v1']], add: [['x-header-add', 'v2']], remove: ['x-header-remove'] },
      response: { set: [], add: [['x-resp', 'v3']], remove: [] },
    });
  });
});

table('HTTPRouteRedirectHostAndStatus, HTTPRouteRedirectPath, HTTPRouteRedirectScheme, HTTPRouteRedirectPort', [
  route('redirect', `  rules:
  - matches: [{ path: { type: PathPrefix, value: /hostname-redirect } }]
    filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }]
  - matches: [{ path: { type: PathPrefix, value: /host-and-status } }]
    filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, statusCode: 301 } }]
  - matches: [{ path: { type: PathPrefix, value: /original-prefix } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix } } }]
  - matches: [{ path: { type: PathPrefix, value: /full } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /full-path-replacement } } }]
  - matches: [{ path: { type: PathPrefix, value: /scheme } }]
    filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
  - matches: [{ path: { type: PathPrefix, value: /port } }]
    filters: [{ type: RequestRedirect, requestRedirect: { port: 8083 } }]`),
], [
  ['hostname, 302 by default', { path: '/hostname-redirect' }, 'redirect 302 http://example.org/hostname-redirect'],
  ['hostname and 301', { path: '/host-and-status' }, 'redirect 301 http://example.org/host-and-status'],
  ['prefix replaced', { path: '/original-prefix/lemon' }, 'redirect 302 http://example.com/replacement-prefix/lemon'],
  ['prefix replaced on the bare prefix', { path: '/original-prefix' }, 'redirect 302 http://example.com/replacement-prefix'],
  ['full path replaced', { path: '/full/one' }, 'redirect 302 http://example.com/full-path-replacement'],
  ['scheme https', { path: '/scheme' }, 'redirect 302 https://example.com/scheme'],
  ['port', { path: '/port' }, 'redirect 302 http://example.com:8083/port'],
]);

table('HTTPRouteRewritePath, HTTPRouteRewriteHost', [
  route('rewrite', `  rules:
  - matches: [{ path: { type: PathPrefix, value: /prefix/one } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /one } } }]
    backendRefs: [{ name: infra-backend-v1, port: 8080 }]
  - matches: [{ path: { type: PathPrefix, value: /strip-prefix } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
    backendRefs: [{ name: infra-backend-v1, port: 8080 }]
  - matches: [{ path: { type: PathPrefix, value: /full/one } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /one } } }]
    backendRefs: [{ name: infra-backend-v1, port: 8080 }]`),
], [
  ['/prefix/one/two → /one/two', { path: '/prefix/one/two' }, 'infra-backend-v1:8080', '/one/two'],
  ['/prefix/one → /one', { path: '/prefix/one' }, 'infra-backend-v1:8080', '/one'],
  ['/strip-prefix/three → /three', { path: '/strip-prefix/three' }, 'infra-backend-v1:8080', '/three'],
  ['/strip-prefix → /', { path: '/strip-prefix' }, 'infra-backend-v1:8080', '/'],
  ['/full/one/two → /one', { path: '/full/one/two' }, 'infra-backend-v1:8080', '/one'],
]);

describe('HTTPRouteRequestMirror, HTTPRouteRequestPercentageMirror', () => {
  const mirror = (to: string, extra = ''): string => route('mirror', `  rules:
  - filters: [{ type: RequestMirror, requestMirror: { backendRef: { ${to} }${extra} } }]
    backendRefs: [{ name: infra-backend-v1, port: 8080 }]`);
  const v2 = 'infra-backend-v2.gateway-conformance-infra.svc.cluster.local';
  test('a mirror to every request', () => {
    assert.deepEqual(send(load(BASE, mirror('name: infra-backend-v2, port: 8080')), {}).mirrors, [{ host: v2, port: 8080, percent: 100 }]);
  });
  test('percent and fraction', () => {
    assert.deepEqual(send(load(BASE, mirror('name: infra-backend-v2, port: 8080', ', percent: 20')), {}).mirrors, [{ host: v2, port: 8080, percent: 20 }]);
    assert.deepEqual(send(load(BASE, mirror('name: infra-backend-v2, port: 8080', ', fraction: { numerator: 1, denominator: 4 }')), {}).mirrors, [{ host: v2, port: 8080, percent: 25 }]);
  });
  test('a mirror to another namespace without a ReferenceGrant is dropped; the route still serves', () => {
    const got = send(load(BASE, mirror('name: web-backend, namespace: gateway-conformance-web-backend, port: 8080')), {});
    assert.equal(got.answer, 'infra-backend-v1:8080');
    assert.equal(got.mirrors, undefined);
  });
});
