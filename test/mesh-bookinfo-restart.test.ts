/**
 * bookinfo across a restart: Ctrl-C leaves no process and removes mesh.json; a second `weft up` on the same state
 * directory finds its CA and store again, with what was applied at run time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { afterRestart } from './support/mesh-restart.js';

test('bookinfo restarted: Ctrl-C leaves nothing, and the CA and the store are found again', async () => {
  const beforeStop = (_: unknown, pids: number[]): void => assert.ok(pids.length >= 13, `expected control plane, gateway, 6 sidecars and 6 apps, got ${pids.length} pids`);
  await afterRestart(['examples/bookinfo'], { unchanged: 'service/details', beforeStop }, async (mesh) => {
    const page = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
    assert.equal(page.statusCode, 200);
    await page.body.dump();
  });
});
