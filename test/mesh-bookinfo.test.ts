/**
 * bookinfo as a newcomer runs it: through the ingress gateway the product page shows all three reviews versions,
 * and a config a proxy cannot apply is NACKed while the last good one keeps serving. Restarts: mesh-bookinfo-restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { request } from 'undici';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { freePort } from '../src/mesh/wait-for-port.js';

async function productPage(mesh: MeshRun): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
  return { status: res.statusCode, body: await res.body.text() };
}

test('bookinfo through the ingress: all three reviews versions; a NACK keeps the last good config', async () => {
  const mesh = await startMesh(['examples/bookinfo'], { isolation: 'none' });
  const stateDir = mesh.stateDir;
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
  } finally {
    await mesh.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});
