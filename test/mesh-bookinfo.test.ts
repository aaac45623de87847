/**
 * bookinfo as a newcomer runs it: through the ingress gateway the product page shows all three reviews versions;
 * a config a proxy cannot apply is NACKed while the last good one keeps serving; Ctrl-C leaves no process; a
 * second `weft up` on the same state directory finds its CA and store again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { alive, eventually, pidsOf, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { freePort } from '../src/mesh/wait-for-port.js';

async function productPage(mesh: MeshRun): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

test('bookinfo through the ingress: all three reviews versions, NACK keeps the last good config, restart keeps CA and store, Ctrl-C leaves nothing', async () => {
  let mesh = await startMesh(['examples/bookinfo'], { isolation: 'none' });
  let stateDir = mesh.stateDir;
  try {
    const seen = new Map<string, string>();
    // Istio's default balancer is LEAST_REQUEST (random among idle hosts): 30 pages miss a version with p < 1e-4.
    for (let i = 0; i < 30; i++) {
      const page = await productPage(mesh);
      assert.equal(page.status, 200);
      const version = /Reviews served by:<\/dt><dd>(reviews-v\d)</.exec(page.body)?.[1];
      assert.ok(version, 'the page names the reviews pod');
      const stars = /data-color="(\w+)"/.exec(page.body)?.[1] ?? 'none';
      seen.set(version, stars);
    }
    assert.deepEqual(Object.fromEntries([...seen].sort()), { 'reviews-v1': 'none', 'reviews-v2': 'black', 'reviews-v3': 'red' });
    // Only the routes of bookinfo-gateway are exposed: the VirtualService has no route for this path.
    const other = await request(`http://127.0.0.1:${mesh.ingressPort}/details/0`);
    assert.equal(other.statusCode, 404);
    await other.body.dump();

    // A Gateway on a port something else holds: the gateway cannot bind it, NACKs, and keeps serving.
    const busyPort = await freePort();
    const blocker = net.createServer().listen(busyPort, '127.0.0.1');
    try {
      const gw = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: busy, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: ${busyPort}, name: http-busy, protocol: HTTP }, hosts: ["*"] }]
`;
      assert.equal((await mesh.weft(['apply', '-f', '-'], gw)).code, 0);
      const nack = await eventually('the gateway to NACK', async () => {
        const s = JSON.parse((await mesh.weft(['status', '-o', 'json'])).stdout) as { proxies: { role: string; lastNack: { reason: string } | null }[] };
        return s.proxies.find((p) => p.role === 'gateway')?.lastNack ?? undefined;
      });
      assert.match(nack.reason, /EADDRINUSE/);
      const text = await mesh.weft(['status']);
      assert.match(text.stdout, /gateway\/weft-system\/weft-ingressgateway .*STALE.*EADDRINUSE/);
      assert.equal((await productPage(mesh)).status, 200, 'the last good config still serves');
      assert.equal((await mesh.weft(['delete', 'gateway', 'busy'])).code, 0);
    } finally {
      blocker.close();
    }

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
    assert.equal((await productPage(mesh)).status, 200);
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
