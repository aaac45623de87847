/**
 * As root, `weft up` runs bookinfo in network namespaces without being asked: the product page answers through the
 * ingress gateway, names resolve in a pod through its sidecar's DNS with the standard resolver, a Service applied
 * after start too, and Ctrl-C leaves nothing of the mesh in the kernel. Root and `ip netns` are required; without
 * them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, podTestSkipReason } from './support/netns-traces.js';
import { cleanup } from './support/cleanup.js';
import { assertForwardingRestored, forwardingBeforeWeft } from './support/ip-forward.js';

const skip = await podTestSkipReason([]);
const bookinfoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-netns-bookinfo-'));
const runs: MeshRun[] = [];
const forwardingBefore = skip ? '' : forwardingBeforeWeft();

/** Without http_proxy: the app's own connection, as an app unaware of the mesh makes it. */
const direct = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY'];

cleanup('pods-netns-bookinfo', async () => {
  for (const r of runs) await r.stop('SIGTERM');
  if (skip) return;
  await removeMeshObjects(meshDigest(bookinfoDir));
  fs.rmSync(bookinfoDir, { recursive: true, force: true });
});

test('as root, bookinfo runs in network namespaces unasked; names resolve through the sidecar, later Services too', { skip, timeout: 170_000 }, async (t) => {
  const mesh = await startMesh(['examples/bookinfo'], { stateDir: bookinfoDir, timeoutMs: 120_000 });
  runs.push(mesh);

  await t.test('netns is the default, and weft up says so', () => {
    assert.equal(mesh.mesh().isolation, 'netns');
    assert.match(mesh.output(), /isolation netns/);
    assert.ok(mesh.mesh().workloads.every((w) => w.netns !== undefined));
  });

  await t.test('the product page answers through the ingress gateway', async () => {
    const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000 });
    const body = await res.body.text();
    assert.equal(res.statusCode, 200, body.slice(0, 300));
    assert.match(body, /Reviews served by:<\/dt><dd>reviews-v\d</);
  });

  await t.test('a service name resolves in a pod with the standard resolver', async () => {
    const r = await mesh.weft(['exec', 'productpage-v1', '--', 'getent', 'hosts', 'reviews']);
    assert.equal(r.code, 0, `getent hosts reviews: ${r.stdout}${r.stderr}`);
    const [address, ...names] = r.stdout.trim().split(/\s+/);
    assert.match(address ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(names.includes('reviews.default.svc.cluster.local'), r.stdout);
  });

  await t.test('a Service applied after start resolves and answers through the captured connection', async () => {
    const late = 'apiVersion: v1\nkind: Service\nmetadata: { name: ratings-late, namespace: default }\nspec:\n  selector: { app: ratings }\n  ports: [{ name: http, port: 9080 }]\n';
    const applied = await mesh.weft(['apply', '-f', '-'], late);
    assert.equal(applied.code, 0, applied.stderr);
    await eventually('ratings-late to resolve in productpage’s pod', async () => {
      const r = await mesh.weft(['exec', 'productpage-v1', '--', 'getent', 'hosts', 'ratings-late']);
      return r.code === 0 || undefined;
    }, 20_000);
    const r = await mesh.weft(['exec', 'productpage-v1', '--', ...direct, 'curl', '-sS', '-m', '10', 'http://ratings-late:9080/ratings/0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"Reviewer1"/);
  });

  await t.test('Ctrl-C leaves nothing of the mesh in the kernel', async () => {
    await mesh.stop('SIGINT');
    assert.deepEqual(await meshTraces(meshDigest(bookinfoDir)), []);
    await assertForwardingRestored(forwardingBefore);
  });
});
