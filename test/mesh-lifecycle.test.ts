/**
 * Lifecycle of `weft up` itself: killed outright, its proxies and control plane exit on their own, and the next
 * start on the same state directory stops what is left; a second `weft up` on a running state directory is refused.
 * (Workloads and sidecars restarted: mesh-restarts.test.ts; the CA as an intermediate: mesh-ca-intermediate.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { alive, callAs, eventually, startMesh } from './support/mesh-process.js';

test('after weft up is killed outright, its proxies and control plane exit, and the next start stops the rest', async () => {
  const first = await startMesh(['examples/httpbin'], { isolation: 'none' });
  const stateDir = first.stateDir;
  try {
    const m = first.mesh();
    const proxies = [m.control.pid, ...m.workloads.map((w) => w.proxyPid)].filter((p): p is number => typeof p === 'number');
    const apps = m.workloads.map((w) => w.appPid).filter((p): p is number => typeof p === 'number');
    await first.stop('SIGKILL');
    await eventually('proxies and control plane gone on their own', () => (proxies.every((p) => !alive(p)) ? true : undefined), 10_000);
    // Apps are the user's programs and know nothing of weft: they are still there, holding their ports.
    assert.ok(apps.some((p) => alive(p)), 'apps outlive a killed weft up');
    const second = await startMesh(['examples/httpbin'], { stateDir, isolation: 'none' });
    try {
      assert.match(second.output(), /stopped \d+ processes left running by a previous weft up/);
      assert.ok(apps.every((p) => !alive(p)), 'the leftover apps were stopped');
      assert.equal((await callAs(second.workload('sleep'), 'http://httpbin:8000/get')).status, 200);
      const refused = await startMesh(['examples/httpbin'], { stateDir, isolation: 'none' }).then(
        async (third) => {
          await third.stop();
          return false;
        },
        (err: Error) => /already running/.test(err.message),
      );
      assert.ok(refused, 'a second weft up on a running state directory is refused');
      assert.equal((await callAs(second.workload('sleep'), 'http://httpbin:8000/get')).status, 200, 'and the running mesh is untouched');
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
