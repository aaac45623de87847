/**
 * Every example analyzes clean, in the combinations its README runs it in: no errors and no warnings. (Info-level
 * findings, e.g. IST0118 for a port named outside Istio's convention, would be listed here if any were accepted.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadResourcesLeniently } from '../config/load.js';
import { analyzeResources, schemaFindings } from './index.js';

// Tests run from dist/src/analyze; the examples stay in the source tree.
const example = (path: string): string => fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url));

const RUNS: readonly (readonly string[])[] = [
  ['bookinfo'],
  ['bookinfo', 'bookinfo/policies'],
  ['httpbin'],
  ['httpbin', 'ext-authz'],
  ['httpbin', 'grpc-echo'],
  ['httpbin', 'jwt'],
  ['httpbin', 'rate-limit'],
  ['httpbin', 'secure-ingress'],
  ['sni-passthrough'],
  ['redis'],
  ['tcp-echo'],
  ['egress', 'egress/config/serviceentry.yaml', 'egress/config/sidecar.yaml'],
  ['egress/curl.yaml', 'egress/config/allow-any.yaml'],
];

for (const run of RUNS) {
  test(`weft analyze ${run.map((p) => `-f examples/${p}`).join(' ')}: clean`, async () => {
    const loaded = await loadResourcesLeniently(run.map(example));
    const findings = [...schemaFindings(loaded.issues), ...analyzeResources(loaded.resources)];
    assert.deepEqual(findings.map((f) => `${f.severity} ${f.code} ${f.field}: ${f.message}`), []);
  });
}
