/**
 * `weft up --store etcd` runs bookinfo: a local etcd member, the control plane on it (replicas and their failover
 * are test/mesh-replicas-failover.test.ts's), the product
 * page through the ingress gateway with all three reviews versions; what is applied at run time lives in etcd and
 * is there after a restart on the same state directory (same CA, sealed in etcd); Ctrl-C leaves no process, etcd's
 * included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { alive, eventually, pidsOf, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import type { MeshFile } from '../src/mesh/mesh-file.js';

const ETCD_ARGS = ['--store', 'etcd'];

async function productPage(mesh: MeshRun): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

function everyPid(m: MeshFile): number[] {
  return [...pidsOf(m), ...(m.replicas ?? []).map((r) => r.pid), ...(m.etcd ?? []).map((e) => e.pid)].filter((p): p is number => typeof p === 'number');
}

test('bookinfo on etcd: all three reviews versions, data and CA kept across a restart, Ctrl-C leaves nothing', async () => {
  let mesh = await startMesh(['examples/bookinfo'], { isolation: 'none', extraArgs: ETCD_ARGS });
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

    const marker = 'apiVersion: v1\nkind: Service\nmetadata: { name: survivor, namespace: default }\nspec: { selector: { app: none }, ports: [{ port: 80, name: http }] }\n';
    assert.equal((await mesh.weft(['apply', '-f', '-'], marker)).code, 0);
    assert.ok(!fs.existsSync(path.join(stateDir, 'store.db')), 'no SQLite store beside etcd');
    const bundle = fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
    const pids = everyPid(mesh.mesh());
    assert.ok(pids.length >= 15, `expected etcd, the control plane, gateway, 6 sidecars and 6 apps, got ${pids.length} pids`);

    await mesh.stop('SIGINT');
    assert.equal(mesh.child.exitCode, 0);
    await eventually('every process gone, etcd included', () => (pids.every((p) => !alive(p)) ? true : undefined), 20_000);

    mesh = await startMesh(['examples/bookinfo'], { stateDir, isolation: 'none', extraArgs: ETCD_ARGS });
    assert.equal(fs.readFileSync(path.join(stateDir, 'ca', 'trust-bundle.pem'), 'utf8'), bundle, 'the same CA, opened from etcd');
    const got = await mesh.weft(['get', 'service', 'survivor']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /survivor/);
    assert.match(mesh.output(), /service\/details unchanged/);
    assert.equal((await productPage(mesh)).status, 200);
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
