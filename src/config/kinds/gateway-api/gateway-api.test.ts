/** Gateway API documents refused at load as the CRDs refuse them, each problem at file:line:column: field. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../../load.js';
import { formatIssue } from '../../issues.js';
import type { ConfigIssue } from '../../issues.js';
import { isWeftError } from '../../../errors.js';
import { kindByName } from '../index.js';

function problems(text: string): string[] {
  try {
    parseResources(text, 'gw.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), `expected a WeftError, got ${String(err)}`);
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map(formatIssue);
  }
}

const ROUTE = 'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\nspec:\n  parentRefs: [{ name: gw }]\n  rules:\n';
const GATEWAY = 'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: g\nspec:\n  gatewayClassName: istio\n  listeners:\n';

describe('Gateway API validation', () => {
  const cases: [string, string, string[]][] = [
    ['a valid HTTPRoute loads', `${ROUTE}  - backendRefs: [{ name: web, port: 80 }]\n`, []],
    ['a Service backendRef needs a port', `${ROUTE}  - backendRefs:\n    - name: web\n`, ['gw.yaml:9:7: spec.rules[0].backendRefs[0].port: port is required when the backend is a Service']],
    ['a path prefix must be absolute', `${ROUTE}  - matches:\n    - path: { type: PathPrefix, value: foo }\n`, ['gw.yaml:9:40: spec.rules[0].matches[0].path.value: value must be an absolute path and start with "/" when type one of ["Exact", "PathPrefix"]']],
    ['a regular expression must be RE2', `${ROUTE}  - matches:\n    - headers: [{ name: x, type: RegularExpression, value: "(?=a)" }]\n`, ['gw.yaml:9:60: spec.rules[0].matches[0].headers[0].value: error parsing regexp: invalid or unsupported Perl syntax: `(?=`; RE2 syntax is required (no backreferences or lookaround)']],
    [
      'a redirect beside backendRefs',
      `${ROUTE}  - filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]\n    backendRefs: [{ name: web, port: 80 }]\n`,
      ['gw.yaml:8:5: spec.rules[0].filters: RequestRedirect filter must not be used together with backendRefs'],
    ],
    [
      'ReplacePrefixMatch needs PathPrefix matches',
      `${ROUTE}  - matches: [{ path: { type: Exact, value: /a } }]\n    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } } }]\n    backendRefs: [{ name: web, port: 80 }]\n`,
      ['gw.yaml:9:15: spec.rules[0].filters[0]: ReplacePrefixMatch requires every match of the rule to be a PathPrefix match'],
    ],
    ['a filter type without its field', `${ROUTE}  - filters: [{ type: RequestHeaderModifier }]\n`, ['gw.yaml:8:15: spec.rules[0].filters[0].requestHeaderModifier: filter.requestHeaderModifier must be specified for type RequestHeaderModifier']],
    [
      'a mirror on a backendRef',
      `${ROUTE}  - backendRefs:\n    - name: web\n      port: 80\n      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: x, port: 80 } } }]\n`,
      ['gw.yaml:11:25: spec.rules[0].backendRefs[0].filters[0].type: RequestMirror is not supported on a backendRef: only RequestHeaderModifier and ResponseHeaderModifier are'],
    ],
    ['an unknown field', `${ROUTE}  - backendRef: []\n`, ['gw.yaml:8:5: spec.rules[0].backendRef: unknown field']],
    ['duplicate listener names', `${GATEWAY}  - { name: a, port: 80, protocol: HTTP }\n  - { name: a, port: 81, protocol: HTTP }\n`, ['gw.yaml:9:13: spec.listeners[1].name: listener name "a" must be unique within the Gateway']],
    ['HTTPS without tls', `${GATEWAY}  - { name: a, port: 443, protocol: HTTPS }\n`, ['gw.yaml:8:5: spec.listeners[0].tls: tls must be specified for protocol HTTPS']],
    ['a hostname on TCP', `${GATEWAY}  - { name: a, port: 9000, protocol: TCP, hostname: a.example.com }\n`, ['gw.yaml:8:53: spec.listeners[0].hostname: hostname must not be specified for protocol TCP']],
    ['an IP address is not a hostname', `${GATEWAY}  - { name: a, port: 80, protocol: HTTP, hostname: 10.0.0.1 }\n`, ['gw.yaml:8:52: spec.listeners[0].hostname: hostname must not be an IP address']],
  ];
  for (const [name, text, want] of cases) test(name, () => assert.deepEqual(problems(text), want));

  test('the Gateway API Gateway never collides with Istio\'s: stored as KubernetesGateway, named like kubectl', () => {
    const [gw] = parseResources(`${GATEWAY}  - { name: a, port: 80, protocol: HTTP }\n`, 'gw.yaml');
    assert.equal(gw?.resource.kind, 'KubernetesGateway');
    assert.equal(kindByName('gateway')?.kind, 'Gateway');
    assert.equal(kindByName('gateways.gateway.networking.k8s.io')?.kind, 'KubernetesGateway');
    assert.equal(kindByName('gtw')?.documentKind, 'Gateway');
  });
});
