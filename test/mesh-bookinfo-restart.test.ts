/**
 * bookinfo across a restart: Ctrl-C leaves no process and removes mesh.json; a second `weft up` on the same state
 * directory finds its CA and store again, with what was applied at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { alive, eventually, pidsOf, startMesh } from './support/mesh-process.js';

test('bookinfo restarted: Ctrl-C leaves nothing, and the CA and the store are found again', async () => {
  let mesh = await startMesh(['examples/bookinfo'], { isolation: 'none' });
  let stateDir = mesh.stateDir;
  try {
    // Something applied at run time is in the store, not in the files: it must survive a restart.
    const marker = 'apiVersion: v1\nkind: Service\nmetadata: { name: survivor, namespace: default }\nspec: { selector: { app: none }, ports: [{ port: 80, name: http }] }\n';
    assert.equal((await mesh.weft(['apply', '-f', '-'], marker)).code, 0);
    const bundle = fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
    const pids = pidsOf(mesh.mesh());
    assert.ok(pids.length >= 13, `expected control plane, gateway, 6 sidecars and 6 apps, got ${pids.length} pids`);

    await mesh.stop('SIGINT');
    assert.equal(mesh.child.exitCode, 0);
    await eventually('every process gone', () => (pids.every((p) => !alive(p)) ? true : undefined), 10_000);
    assert.ok(!fs.existsSync(path.join(stateDir, 'mesh.json')), 'mesh.json removed on a clean stop');

    mesh = await startMesh(['examples/bookinfo'], { stateDir, isolation: 'none' });
    stateDir = mesh.stateDir;
    assert.equal(fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8'), bundle, 'same CA root after restart');
    const got = await mesh.weft(['get', 'service', 'survivor']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /survivor/);
    assert.match(mesh.output(), /service\/details unchanged/);
    const page = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
    assert.equal(page.statusCode, 200);
    await page.body.dump();
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
