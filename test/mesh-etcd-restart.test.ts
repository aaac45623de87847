/**
 * `weft up --store etcd` restarted on the same state directory: what was applied at run time lives in etcd and is
 * there again, the CA is the same (its key sealed in etcd, test/mesh-bookinfo-etcd.test.ts runs bookinfo on etcd),
 * the files are applied again without a change, and the restarted mesh carries mTLS calls under that CA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { alive, callAs, eventually, everyPidOf, startMesh } from './support/mesh-process.js';

const ETCD_ARGS = ['--store', 'etcd'];

test('on etcd, a restart keeps what was applied and the CA; the files apply again unchanged', async () => {
  let mesh = await startMesh(['examples/httpbin'], { isolation: 'none', extraArgs: ETCD_ARGS });
  const stateDir = mesh.stateDir;
  try {
    const marker = 'apiVersion: v1\nkind: Service\nmetadata: { name: survivor, namespace: default }\nspec: { selector: { app: none }, ports: [{ port: 80, name: http }] }\n';
    assert.equal((await mesh.weft(['apply', '-f', '-'], marker)).code, 0);
    const bundle = fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
    const pids = everyPidOf(mesh.mesh());
    await mesh.stop('SIGINT');
    assert.equal(mesh.child.exitCode, 0);
    await eventually('every process gone, etcd included', () => (pids.every((p) => !alive(p)) ? true : undefined), 20_000);

    mesh = await startMesh(['examples/httpbin'], { stateDir, isolation: 'none', extraArgs: ETCD_ARGS });
    assert.equal(fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8'), bundle, 'the same CA, opened from etcd');
    const got = await mesh.weft(['get', 'service', 'survivor']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /survivor/);
    assert.match(mesh.output(), /service\/httpbin unchanged/);
    const res = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/headers');
    assert.equal(res.status, 200, res.body);
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
