/**
 * `weft up --store etcd` runs bookinfo: a local etcd member, the control plane on it (replicas and their failover
 * are test/mesh-replicas-failover.test.ts's), the product page through the ingress gateway with all three reviews
 * versions; Ctrl-C leaves no process, etcd's included. What survives a restart on etcd is
 * test/mesh-etcd-restart.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { alive, eventually, everyPidOf, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

const ETCD_ARGS = ['--store', 'etcd'];

async function productPage(mesh: MeshRun): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

test('bookinfo on etcd: all three reviews versions, nothing in SQLite, Ctrl-C leaves nothing', async () => {
  const mesh = await startMesh(['examples/bookinfo'], { isolation: 'none', extraArgs: ETCD_ARGS });
  const stateDir = mesh.stateDir;
  try {
    assert.equal(mesh.mesh().replicas, undefined);
    assert.equal(mesh.mesh().etcd?.length, 1);
    const seen = new Set<string>();
    // Istio's default balancer is LEAST_REQUEST (random among idle hosts): 30 pages miss a version with p < 1e-4.
    for (let i = 0; i < 30; i++) {
      const page = await productPage(mesh);
      assert.equal(page.status, 200);
      const version = /Reviews served by:<\/dt><dd>(reviews-v\d)</.exec(page.body)?.[1];
      assert.ok(version, 'the page names the reviews pod');
      seen.add(version);
    }
    assert.deepEqual([...seen].sort(), ['reviews-v1', 'reviews-v2', 'reviews-v3']);
    assert.ok(!fs.existsSync(path.join(stateDir, 'store.db')), 'no SQLite store beside etcd');
    const pids = everyPidOf(mesh.mesh());
    assert.ok(pids.length >= 15, `expected etcd, the control plane, gateway, 6 sidecars and 6 apps, got ${pids.length} pids`);

    await mesh.stop('SIGINT');
    assert.equal(mesh.child.exitCode, 0);
    await eventually('every process gone, etcd included', () => (pids.every((p) => !alive(p)) ? true : undefined), 20_000);
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
