import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../load.js';
import { formatIssue } from '../issues.js';
import type { ConfigIssue } from '../issues.js';
import { isWeftError } from '../../errors.js';

function problems(text: string): string[] {
  try {
    parseResources(text, 't.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), `expected a WeftError, got ${String(err)}`);
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map(formatIssue);
  }
}

const doc = (spec: string): string => `apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata:\n  name: t\n  namespace: default\nspec:\n${spec}`;
const tag = (value: string): string => doc(`  metrics:\n  - overrides:\n    - match: { metric: REQUEST_COUNT }\n      tagOverrides:\n        t: { value: ${JSON.stringify(value)} }\n`);
const filter = (expression: string): string => doc(`  accessLogging:\n  - providers: [{ name: envoy }]\n    filter: { expression: ${JSON.stringify(expression)} }\n`);

describe('Telemetry loads as Istio writes it', () => {
  const accepted: [string, string][] = [
    ["Istio's reference: 10% sampling mesh-wide", doc('  tracing:\n  - randomSamplingPercentage: 10.00\n')],
    ["Istio's reference: disable span reporting for foo", doc('  selector:\n    matchLabels:\n      service.istio.io/canonical-name: foo\n  tracing:\n  - disableSpanReporting: true\n')],
    ['custom tags: literal, environment, header', doc('  tracing:\n  - customTags:\n      a: { literal: { value: x } }\n      b: { environment: { name: POD_NAME, defaultValue: none } }\n      c: { header: { name: x-tenant } }\n')],
    ['remove a tag from every metric', doc('  metrics:\n  - providers: [{ name: prometheus }]\n    overrides:\n    - tagOverrides:\n        grpc_response_status: { operation: REMOVE }\n')],
    ['disable a metric on the client side', doc('  metrics:\n  - overrides:\n    - match: { metric: REQUEST_DURATION, mode: CLIENT }\n      disabled: true\n')],
    ['a tag from the response code', tag("response.code >= 500 ? 'error' : 'ok'")],
    ['a tag from node metadata', tag("node.metadata['NAMESPACE']")],
    ['a tag from the mTLS peer', tag('connection.uri_san_peer_certificate')],
    ["Istio's access-log task: errors only", filter('response.code >= 400')],
    ['a filter may read request headers', filter("request.headers['x-debug'] == 'on' && request.url_path.matches('^/api/')")],
    ['targetRefs to a Gateway', doc('  targetRefs:\n  - { group: gateway.networking.k8s.io, kind: Gateway, name: web }\n  accessLogging:\n  - disabled: true\n')],
    ['telemetry.istio.io/v1alpha1 is an alias', doc('  tracing:\n  - randomSamplingPercentage: 1\n').replace('telemetry.istio.io/v1', 'telemetry.istio.io/v1alpha1')],
  ];
  for (const [name, text] of accepted) test(name, () => assert.deepEqual(problems(text), []));
});

describe('refused at apply, file:line:field', () => {
  const refused: [string, string, RegExp][] = [
    ['a tag from a request header (unbounded)', tag("request.headers['x-user']"), /^t\.yaml:11:\d+: spec\.metrics\[0\]\.overrides\[0\]\.tagOverrides\.t\.value: \[CEL_UNBOUNDED_TAG\] request\.headers is what the client sent/],
    ['a tag from the URL path (unbounded)', tag('request.url_path'), /\[CEL_UNBOUNDED_TAG\] request\.url_path/],
    ['a tag from the Host (unbounded)', tag('request.host'), /\[CEL_UNBOUNDED_TAG\] request\.host/],
    ["Istio's task's request.method tag (unbounded)", tag('request.method'), /\[CEL_UNBOUNDED_TAG\] request\.method/],
    ['a tag reading the whole request', tag('request'), /\[CEL_UNBOUNDED_TAG\] request reads the whole request/],
    ['a tag hidden in a comprehension', tag("['a'].exists(x, x == request.path) ? 'y' : 'n'"), /\[CEL_UNBOUNDED_TAG\] request\.path/],
    ['an attribute weft does not have', filter('foo.bar == 1'), /\[CEL_UNKNOWN_ATTRIBUTE\] unknown attribute foo\.bar/],
    ['a filter that is not CEL', filter('response.code >='), /\[CEL_SYNTAX\]/],
    ['UPSERT without a value', doc('  metrics:\n  - overrides:\n    - tagOverrides:\n        t: { operation: UPSERT }\n'), /tagOverrides\.t\.value: an UPSERT tag override needs a value/],
    ['an unknown metric', doc('  metrics:\n  - overrides:\n    - match: { metric: REQUEST_COUNTS }\n'), /spec\.metrics\[0\]\.overrides\[0\]\.match\.metric/],
    ['an unknown mode', doc('  accessLogging:\n  - match: { mode: BOTH }\n'), /spec\.accessLogging\[0\]\.match\.mode/],
    ['selector and targetRef together', doc('  selector: { matchLabels: { app: a } }\n  targetRef: { kind: Gateway, name: g }\n'), /only one of selector, targetRef or targetRefs/],
    ['sampling above 100', doc('  tracing:\n  - randomSamplingPercentage: 101\n'), /randomSamplingPercentage/],
  ];
  for (const [name, text, expected] of refused) {
    test(name, () => {
      const p = problems(text);
      assert.ok(p.some((x) => expected.test(x)), p.join('\n'));
    });
  }
});
