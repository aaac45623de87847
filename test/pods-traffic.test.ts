/**
 * VirtualService rules at a sidecar in `weft up --isolation=netns`, for both ways an app's request reaches it: a
 * connection captured by iptables (the app knows nothing of the mesh) and the explicit http_proxy listener. Root and
 * `ip netns` are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { removeMeshObjects, podTestSkipReason } from './support/netns-traces.js';
import { cleanup } from './support/cleanup.js';

const skip = await podTestSkipReason(['curl']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-pods-traffic-'));
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;

/** Without http_proxy: the app's own connection, captured by its sidecar. */
const captured = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY'];

cleanup('pods-traffic', async () => {
  await mesh?.stop('SIGTERM');
  if (skip) return;
  await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

async function curl(m: MeshRun, how: string[], url: string): Promise<{ status: string; body: string }> {
  const r = await m.weft(['exec', 'client', '--', ...how, 'curl', '-s', '-m', '10', '-w', '\n%{http_code} %{redirect_url}', url]);
  assert.equal(r.code, 0, r.stderr);
  const cut = r.stdout.lastIndexOf('\n');
  return { body: r.stdout.slice(0, cut), status: r.stdout.slice(cut + 1).trim() };
}

test('VirtualService rules on captured and explicit-proxy requests in network namespaces', { skip, timeout: 120_000 }, async (t) => {
  mesh = await startMesh(['examples/resilience'], { stateDir, extraArgs: ['--isolation=netns'] });
  const m = mesh;
  for (const [name, how] of [
    ['captured', captured],
    ['http_proxy', []],
  ] as const) {
    await t.test(`${name}: rewrite to subset v1`, async () => {
      const r = await curl(m, [...how], 'http://backend:8000/old/thing');
      assert.equal(r.status, '200');
      assert.deepEqual(JSON.parse(r.body), { version: 'v1', path: '/new/thing', host: 'backend:8000' });
    });
    await t.test(`${name}: redirect and direct response answered by the sidecar`, async () => {
      assert.deepEqual(await curl(m, [...how], 'http://backend:8000/moved'), { body: '', status: '302 http://backend:8000/new/place' });
      assert.deepEqual(await curl(m, [...how], 'http://backend:8000/only-listed'), { body: 'listed routes only', status: '418' });
    });
  }
});
