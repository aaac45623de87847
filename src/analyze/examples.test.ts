/**
 * Every example analyzes clean, in the combinations its README runs it in: no errors and no warnings. (Info-level
 * findings, e.g. IST0118 for a port named outside Istio's convention, would be listed here if any were accepted.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

// secure-ingress's Secret is made by its script, as its README says; before that, the analyzer names what is missing.
test('weft analyze -f examples/httpbin -f examples/secure-ingress: IST0161 until make-credential.sh has run, then clean', async (t) => {
  const run = async (paths: string[]): Promise<string[]> => {
    const loaded = await loadResourcesLeniently(paths);
    return [...schemaFindings(loaded.issues), ...analyzeResources(loaded.resources)].map((f) => `${f.severity} ${f.code} ${f.field}: ${f.message}`);
  };
  const files = [example('httpbin'), example('secure-ingress/gateway.yaml')];
  assert.deepEqual(await run(files), ['error IST0161 spec.servers[0].tls: The gateway is using an invalid credential: Secret weft-system/httpbin-credential not found']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-secure-ingress-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync('sh', [example('secure-ingress/make-credential.sh'), dir], { stdio: 'ignore' });
  assert.deepEqual(await run([...files, path.join(dir, 'httpbin-credential.yaml')]), []);
});
