/**
 * Under steady load through real sidecars: certificates rotated every few seconds, and the control plane killed
 * and restarted, lose no request.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alive, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { steadyLoad } from './support/steady-load.js';
import { cleanup } from './support/cleanup.js';

let mesh: MeshRun;
let extra: string;

before(async () => {
  extra = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-meshconfig-'));
  // A 4 s certificate: every proxy renews about every 2 s.
  fs.writeFileSync(
    path.join(extra, 'mesh.yaml'),
    'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: mesh, namespace: weft-system }\nspec: { certificateTTL: 4s }\n',
  );
  mesh = await startMesh(['examples/httpbin', extra], { isolation: 'none' });
});
cleanup('mesh-resilience', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  fs.rmSync(extra, { recursive: true, force: true });
});

function issuedCount(file: string): number {
  return fs.readFileSync(path.join(mesh.stateDir, 'logs', file), 'utf8').split('\n').filter((l) => l.includes('"certificate issued"')).length;
}

/** notAfter of the last certificate a sidecar logged as issued. */
function lastNotAfter(file: string): number {
  const issued = fs.readFileSync(path.join(mesh.stateDir, 'logs', file), 'utf8').split('\n').filter((l) => l.includes('"certificate issued"'));
  const last = issued.at(-1);
  return last ? Date.parse((JSON.parse(last) as { notAfter: string }).notAfter) : 0;
}

test('certificates rotated every 2 s under steady load lose no request', async () => {
  const before = issuedCount('default.httpbin.sidecar.log');
  const load = steadyLoad(mesh.workload('sleep'), 'http://httpbin:8000/get');
  await new Promise((r) => setTimeout(r, 9000));
  const result = await load.stop();
  const rotations = issuedCount('default.httpbin.sidecar.log') - before;
  assert.ok(rotations >= 3, `expected at least 3 rotations of httpbin's certificate, saw ${rotations}`);
  assert.ok(issuedCount('default.sleep.sidecar.log') - 1 >= 3, "sleep's certificate rotated too");
  assert.ok(result.sent > 100, `load too light to prove anything: ${result.sent} requests`);
  assert.equal(result.failed, 0, `failures: ${result.failures.join('; ')}`);
});

test('the control plane killed and restarted under load loses no request', async () => {
  // Certificates that outlive the outage: a 4 s certificate would expire while the control plane is away.
  fs.writeFileSync(
    path.join(extra, 'mesh.yaml'),
    'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: mesh, namespace: weft-system }\nspec: { certificateTTL: 1h }\n',
  );
  assert.equal((await mesh.weft(['apply', '-f', extra])).code, 0);
  await eventually('both sidecars renewed with the long TTL', () =>
    ['default.httpbin.sidecar.log', 'default.sleep.sidecar.log'].every((f) => lastNotAfter(f) > Date.now() + 600_000) ? true : undefined,
  );
  const killed = mesh.mesh().control.pid;
  assert.ok(alive(killed));
  const load = steadyLoad(mesh.workload('sleep'), 'http://httpbin:8000/get');
  await new Promise((r) => setTimeout(r, 1000));
  process.kill(killed!, 'SIGKILL');
  const restarted = await eventually('control plane restarted', () => {
    const pid = mesh.mesh().control.pid;
    return pid !== null && pid !== killed && alive(pid) ? pid : undefined;
  });
  // Proxies reconnect on their own: every one connected to the new process and in sync.
  await eventually(
    'proxies reconnected',
    async () => {
      const r = await mesh.weft(['status', '-o', 'json']);
      const s = JSON.parse(r.stdout) as { proxies: { connected: boolean; sentVersion: string; ackedVersion: string }[] };
      return s.proxies.length === 2 && s.proxies.every((p) => p.connected && p.sentVersion === p.ackedVersion) ? s : undefined;
    },
    20_000,
  );
  await new Promise((r) => setTimeout(r, 3000));
  const result = await load.stop();
  assert.notEqual(restarted, killed);
  assert.ok(result.sent > 100, `load too light: ${result.sent}`);
  assert.equal(result.failed, 0, `failures: ${result.failures.join('; ')}`);
});
