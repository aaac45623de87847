/**
 * LocalRateLimitPolicy validation: Linkerd's HTTPLocalRateLimitPolicy reference example (with a selector in place of
 * its Server reference) loads; every refusal names the file, line, column and field. The rules are Linkerd's
 * (identity and override limits no greater than the total) and weft's own
 * (a limit is at least 1, a policy limits something, a client is named once, as `namespace/serviceAccount` or a
 * SPIFFE ID).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResources } from '../load.js';
import { formatIssue } from '../issues.js';
import type { ConfigIssue } from '../issues.js';
import { isWeftError } from '../../errors.js';

function problems(text: string): string[] {
  try {
    parseResources(text, 'rl.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err), `expected a WeftError, got ${String(err)}`);
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map(formatIssue);
  }
}

/** A policy whose spec is `body` (indented by two spaces); the spec starts on line 6. */
const rl = (body: string): string => `apiVersion: weft.dev/v1alpha1\nkind: LocalRateLimitPolicy\nmetadata:\n  name: web-rl\nspec:\n${body}`;

const VALID: Record<string, string> = {
  // Linkerd's reference example: 100 rps in total, 20 per identity, 25 for emojivoto's special-client.
  "Linkerd's reference example": '  selector: { matchLabels: { app: web } }\n  total:\n    requestsPerSecond: 100\n  identity:\n    requestsPerSecond: 20\n  overrides:\n  - requestsPerSecond: 25\n    clientRefs:\n    - emojivoto/special-client\n',
  'clientRefs as namespace/name and SPIFFE ID': '  identity: { requestsPerSecond: 5 }\n  overrides:\n  - requestsPerSecond: 50\n    clientRefs: [default/sleep, "spiffe://example.org/ns/batch/sa/loader"]\n',
  'one port, a total only': '  selector: { matchLabels: { app: httpbin } }\n  port: 8080\n  total: { requestsPerSecond: 1 }\n',
  'identity equal to the total': '  total: { requestsPerSecond: 10 }\n  identity: { requestsPerSecond: 10 }\n',
  'no selector: every workload of the namespace': '  identity: { requestsPerSecond: 4294967295 }\n',
};

describe('LocalRateLimitPolicy: valid policies load', () => {
  for (const [name, body] of Object.entries(VALID)) test(name, () => assert.deepEqual(problems(rl(body)), []));
});

const INVALID: { name: string; body: string; expect: string[] }[] = [
  { name: 'nothing to limit', body: '  selector: { matchLabels: { app: web } }\n', expect: ['rl.yaml:5:1: spec: a LocalRateLimitPolicy must set total, identity or overrides'] },
  { name: 'an empty overrides list limits nothing', body: '  overrides: []\n', expect: ['rl.yaml:5:1: spec: a LocalRateLimitPolicy must set total, identity or overrides'] },
  { name: 'identity over the total (Linkerd)', body: '  total: { requestsPerSecond: 10 }\n  identity: { requestsPerSecond: 11 }\n', expect: ['rl.yaml:7:34: spec.identity.requestsPerSecond: identity.requestsPerSecond (11) cannot be greater than total.requestsPerSecond (10)'] },
  { name: 'an override over the total (Linkerd)', body: '  total: { requestsPerSecond: 10 }\n  overrides:\n  - requestsPerSecond: 20\n    clientRefs: [default/a]\n', expect: ['rl.yaml:8:24: spec.overrides[0].requestsPerSecond: requestsPerSecond (20) cannot be greater than total.requestsPerSecond (10)'] },
  { name: 'zero requests per second', body: '  total: { requestsPerSecond: 0 }\n', expect: ['rl.yaml:6:31: spec.total.requestsPerSecond: requestsPerSecond must be at least 1 (leave the limit out for none)'] },
  { name: 'a fraction', body: '  identity: { requestsPerSecond: 2.5 }\n', expect: ['rl.yaml:6:34: spec.identity.requestsPerSecond: requestsPerSecond must be a whole number'] },
  { name: 'a string', body: '  identity: { requestsPerSecond: "5" }\n', expect: ['rl.yaml:6:34: spec.identity.requestsPerSecond: requestsPerSecond must be a whole number'] },
  { name: 'over uint32', body: '  total: { requestsPerSecond: 4294967296 }\n', expect: ['rl.yaml:6:31: spec.total.requestsPerSecond: requestsPerSecond must be at most 4294967295'] },
  { name: 'a misspelled field', body: '  total: { requestPerSecond: 5 }\n', expect: ['rl.yaml:6:3: spec.total.requestsPerSecond: required field is missing', 'rl.yaml:6:12: spec.total.requestPerSecond: unknown field'] },
  { name: "Linkerd's targetRef is not weft's", body: '  targetRef: { group: policy.linkerd.io, kind: Server, name: web-http }\n  total: { requestsPerSecond: 5 }\n', expect: ['rl.yaml:6:3: spec.targetRef: unknown field'] },
  { name: 'port 0', body: '  port: 0\n  total: { requestsPerSecond: 5 }\n', expect: ['rl.yaml:6:9: spec.port: port must be 1-65535'] },
  { name: 'selector in the Sidecar form', body: '  selector: { labels: { app: web } }\n  total: { requestsPerSecond: 5 }\n', expect: ['rl.yaml:6:15: spec.selector.labels: unknown field'] },
  { name: 'an override without clients', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: []\n', expect: ['rl.yaml:8:5: spec.overrides[0].clientRefs: clientRefs must name at least one client'] },
  { name: 'a clientRef that is neither form', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: [sleep]\n', expect: ['rl.yaml:8:18: spec.overrides[0].clientRefs[0]: "sleep" is neither namespace/serviceAccount nor a SPIFFE ID'] },
  { name: 'a clientRef with a bad namespace', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: [Default/sleep]\n', expect: ['rl.yaml:8:18: spec.overrides[0].clientRefs[0]: "Default/sleep": namespace "Default" must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit'] },
  { name: 'a clientRef with a bad ServiceAccount', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: [default/sleep_1]\n', expect: ['rl.yaml:8:18: spec.overrides[0].clientRefs[0]: "default/sleep_1": ServiceAccount "sleep_1" must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit'] },
  { name: 'a SPIFFE ID with a query', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: ["spiffe://cluster.local/ns/a/sa/b?x=1"]\n', expect: ['rl.yaml:8:18: spec.overrides[0].clientRefs[0]: invalid SPIFFE ID "spiffe://cluster.local/ns/a/sa/b?x=1": query is not allowed'] },
  { name: 'a SPIFFE ID with an upper-case scheme', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: ["SPIFFE://cluster.local/ns/a/sa/b"]\n', expect: ['rl.yaml:8:18: spec.overrides[0].clientRefs[0]: invalid SPIFFE ID "SPIFFE://cluster.local/ns/a/sa/b": scheme must be lowercase "spiffe"'] },
  { name: "Linkerd's object form", body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: [{ kind: ServiceAccount, namespace: default, name: a }]\n', expect: ['rl.yaml:8:18: spec.overrides[0].clientRefs[0]: expected string, received object'] },
  { name: 'a client named by two overrides', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: [default/a]\n  - requestsPerSecond: 6\n    clientRefs: [default/b, default/a]\n', expect: ['rl.yaml:10:29: spec.overrides[1].clientRefs[1]: client "default/a" is already named by overrides[0].clientRefs[0]'] },
  { name: 'a client named twice in one override', body: '  overrides:\n  - requestsPerSecond: 5\n    clientRefs: [default/a, default/a]\n', expect: ['rl.yaml:8:29: spec.overrides[0].clientRefs[1]: client "default/a" is already named by overrides[0].clientRefs[0]'] },
];

describe('LocalRateLimitPolicy: refusals name file, line, column and field', () => {
  for (const c of INVALID) test(c.name, () => assert.deepEqual(problems(rl(c.body)), c.expect));
});
