/**
 * Local rate limits in `weft up --isolation=netns`: apps that know nothing of the mesh call httpbin by name, their
 * calls captured and carried over mTLS with their own identities; httpbin's sidecar refuses sleep over its limit of
 * one request per second while notsleep (override: five) is still served. curl sends each burst in parallel, so it
 * arrives within the policy's one-second window. Root, `ip netns`, iptables, setpriv and curl are required; without
 * them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, podTestSkipReason } from './support/netns-traces.js';
import { cleanup } from './support/cleanup.js';

const skip = await podTestSkipReason(['iptables', 'setpriv', 'curl']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ratelimit-'));
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;

/** Without http_proxy: the app's own connections, captured. */
const direct = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY'];

cleanup('pods-rate-limit', async () => {
  await mesh?.stop('SIGTERM');
  if (skip) return;
  await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

/** `n` GETs of httpbin from `workload`'s app, in parallel; one status line each ("429 true" when rate limited). */
async function burst(m: MeshRun, workload: string, n: number): Promise<string[]> {
  // `-o` applies to one URL: each gets its own.
  const urls = Array.from({ length: n }, () => ['-o', '/dev/null', 'http://httpbin:8000/get']).flat();
  const r = await m.weft(['exec', workload, '--', ...direct, 'curl', '-sS', '-m', '10', '--parallel', '--parallel-immediate', '-w', '%{http_code} %header{x-envoy-ratelimited}\\n', ...urls]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => l.trim()).sort();
}

test('local rate limits in network namespaces', { skip, timeout: 120_000 }, async (t) => {
  mesh = await startMesh(['examples/httpbin', 'examples/rate-limit'], { stateDir, extraArgs: ['--isolation=netns'] });
  const m = mesh;

  await t.test('sleep over its per-identity limit gets 429 with x-envoy-ratelimited; notsleep is still served', async () => {
    assert.deepEqual(await burst(m, 'sleep', 4), ['200', '429 true', '429 true', '429 true']);
    assert.deepEqual(await burst(m, 'notsleep', 4), ['200', '200', '200', '200']);
  });

  await t.test('a stop leaves no namespace, link or /etc/netns directory', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
