/**
 * A mesh keeps its workloads running: an app or a sidecar that dies is restarted with backoff, reported, and
 * served again. The control plane `weft up` starts gets its allocator settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { alive, callAs, eventually, startMesh } from './support/mesh-process.js';
import { CONTROL_PLANE_MALLOC_ENV, missingAllocatorSettings } from '../src/control/allocator-settings.js';

/** The control plane process was started with every allocator setting, each with the value `weft up` gives. */
function assertAllocatorSettings(pid: number | null): void {
  const env = Object.fromEntries(
    fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  for (const [k, v] of Object.entries(CONTROL_PLANE_MALLOC_ENV)) assert.equal(env[k], v, `control plane started without ${k}=${v}`);
  assert.deepEqual(missingAllocatorSettings(env), []);
}

test('a workload that exits is restarted with backoff, reported, and served again', async () => {
  const mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  try {
    // glibc and V8 read their settings only at start: `weft up` gives them to the control plane it starts.
    assertAllocatorSettings(mesh.mesh().control.pid);
    const before = mesh.workload('httpbin');
    assert.ok(alive(before.appPid));
    process.kill(before.appPid!, 'SIGKILL');
    await eventually('restart reported', () => (/workload default\/httpbin exited \(SIGKILL\); restart 1 with backoff/.test(mesh.output()) ? true : undefined));
    const after = await eventually('httpbin running again', () => {
      const w = mesh.workload('httpbin');
      return w.appPid !== before.appPid && alive(w.appPid) ? w : undefined;
    });
    assert.equal(after.restarts, 1);
    const res = await eventually('served again', async () => {
      const r = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/get');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(res.status, 200);
    const got = await mesh.weft(['get', 'workload', 'httpbin']);
    assert.match(got.stdout, /httpbin\s+Running\s+1\s/);
  } finally {
    await mesh.stop();
    fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  }
});

test('a sidecar that is killed is restarted, and its new pid and the restart are reported', async () => {
  const mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  try {
    // glibc and V8 read their settings only at start: `weft up` gives them to the control plane it starts.
    assertAllocatorSettings(mesh.mesh().control.pid);
    const before = mesh.workload('httpbin');
    assert.ok(alive(before.proxyPid));
    process.kill(before.proxyPid!, 'SIGKILL');
    await eventually('restart reported', () => (/sidecar of default\/httpbin exited \(SIGKILL\); restart 1 with backoff/.test(mesh.output()) ? true : undefined));
    const after = await eventually('the new sidecar in mesh.json', () => {
      const w = mesh.workload('httpbin');
      return w.proxyPid !== null && w.proxyPid !== before.proxyPid && alive(w.proxyPid) ? w : undefined;
    });
    assert.deepEqual({ restarts: after.restarts, appRestarts: after.appRestarts, proxyRestarts: after.proxyRestarts, appPid: after.appPid }, {
      restarts: 1,
      appRestarts: 0,
      proxyRestarts: 1,
      appPid: before.appPid,
    });
    const res = await eventually('served again', async () => {
      const r = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/get');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(res.status, 200);
    const got = await eventually('RESTARTS 1 in weft get', async () => {
      const r = await mesh.weft(['get', 'workload', 'httpbin']);
      return /httpbin\s+Running\s+1\s/.test(r.stdout) ? r : undefined;
    });
    assert.match(got.stdout, /^NAME\s+STATUS\s+RESTARTS\s+POD-IP\s+AGE\nhttpbin\s+Running\s+1\s+127\.\d+\.\d+\.\d+\s+\S+\n$/);
  } finally {
    await mesh.stop();
    fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  }
});
