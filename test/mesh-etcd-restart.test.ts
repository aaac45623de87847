/**
 * `weft up --store etcd` restarted on the same state directory: what was applied at run time lives in etcd and is
 * there again, the CA is the same (its key sealed in etcd, test/mesh-bookinfo-etcd.test.ts runs bookinfo on etcd),
 * the files are applied again without a change, and the restarted mesh carries mTLS calls under that CA.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callAs } from './support/mesh-process.js';
import { afterRestart } from './support/mesh-restart.js';

test('on etcd, a restart keeps what was applied and the CA; the files apply again unchanged', async () => {
  await afterRestart(['examples/httpbin'], { extraArgs: ['--store', 'etcd'], unchanged: 'service/httpbin', beforeStop: (m) => assert.ok((m.etcd ?? []).length > 0, 'etcd members in mesh.json') }, async (mesh) => {
    const res = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/headers');
    assert.equal(res.status, 200, res.body);
  });
});
