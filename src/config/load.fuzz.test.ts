/**
 * Property-based fuzzing (fast-check) of YAML loading on hostile text: real manifests mutated, deep and aliased
 * structures, arbitrary text. Loading returns resources or throws one CONFIG_* error whose issues each name the file
 * and a position (never a stack overflow); it takes bounded time; and whatever it accepts, written back as YAML,
 * loads to the same resources.
 */
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { fuzzRuns, textMutationsOf, withinTime } from '../../test/support/fuzz.js';
import { isWeftError } from '../errors.js';
import type { ConfigIssue } from './issues.js';
import { parseResources } from './load.js';
import type { LoadedResource } from './load.js';

const CODES = new Set(['CONFIG_PARSE', 'CONFIG_INVALID', 'CONFIG_UNKNOWN_KIND', 'CONFIG_READ']);

const MANIFESTS = [
  readFileSync(new URL('../../../examples/httpbin/httpbin.yaml', import.meta.url), 'utf8'),
  `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-get, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  action: ALLOW
  rules:
  - from: [ { source: { principals: ["cluster.local/ns/default/sa/sleep"] } } ]
    to: [ { operation: { methods: ["GET"], paths: ["/headers", "/ip*"] } } ]
`,
  `base: &b { apiVersion: v1, kind: Service }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews }
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: { host: reviews, subset: v1 }
      weight: 75
    - destination: { host: reviews, subset: v2 }
      weight: 25
`,
];

/** Loads `text`; asserts it yields resources or one coded error with located issues, never anything else. */
function loadOrRefuse(text: string): LoadedResource[] | undefined {
  try {
    return withinTime(() => parseResources(text, 'fuzz.yaml'));
  } catch (err) {
    assert.ok(isWeftError(err) && CODES.has(err.code), `unexpected ${String(err)}`);
    const issues = (err.detail?.['issues'] ?? []) as ConfigIssue[];
    assert.ok(issues.length > 0);
    for (const issue of issues) {
      assert.equal(issue.file, 'fuzz.yaml');
      assert.ok(Number.isInteger(issue.line) && issue.line >= 0 && Number.isInteger(issue.column) && issue.column >= 0);
      assert.doesNotMatch(issue.message, /call stack|RangeError|undefined/i);
    }
    return undefined;
  }
}

/** Accepted resources, written back as YAML, load to the same resources. */
function roundTrips(loaded: LoadedResource[] | undefined): void {
  if (loaded === undefined || loaded.length === 0) return;
  const text = loaded.map((l) => stringify(l.resource)).join('---\n');
  assert.deepEqual(parseResources(text, 'again.yaml').map((l) => l.resource), loaded.map((l) => l.resource));
}

// Nested flow and block collections, anchors and aliases, to reach the depth and expansion bounds.
const structure: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('1', 'x', '"s"', '*a', '~', '[]', '{}', '&a v'),
    tie('node').map((n) => `[${n}]`),
    tie('node').map((n) => `{k: ${n}}`),
    fc.tuple(tie('node'), tie('node')).map(([a, b]) => `[&a ${a}, ${b}, *a]`),
    fc.integer({ min: 1, max: 5000 }).map((d) => `${'['.repeat(d)}1${']'.repeat(d)}`),
    fc.integer({ min: 1, max: 1000 }).map((d) => Array.from({ length: d }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1'),
  ),
})).node;

describe('YAML loading (fuzz)', () => {
  test('real manifests load and round-trip', () => {
    for (const m of MANIFESTS.slice(0, 2)) roundTrips(parseResources(m, 'real.yaml'));
  });

  test('mutated manifests: resources that round-trip, or one coded error with located issues', { timeout: 60_000 }, () => {
    fc.assert(fc.property(textMutationsOf(...MANIFESTS), (text) => roundTrips(loadOrRefuse(text))), fuzzRuns(400));
  });

  test('deep, aliased and arbitrary structures: a coded error or resources, in bounded time', { timeout: 60_000 }, () => {
    const text = fc.oneof(
      structure.map((s) => `apiVersion: v1\nkind: Service\nmetadata: { name: a }\nspec: ${s}\n`),
      structure,
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    fc.assert(fc.property(text, (t) => roundTrips(loadOrRefuse(t))), fuzzRuns(400));
  });
});
