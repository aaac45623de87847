/**
 * `weft up --prometheus` for real: Debian's Prometheus scrapes every sidecar and the control plane through targets
 * that follow mesh.json, evaluates the mesh's rules, and Alertmanager holds the alert a plaintext request raises.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { request } from 'undici';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

let mesh: MeshRun;
let prometheus = '';
let alertmanager = '';

async function getJson<T>(url: string): Promise<T> {
  const res = await request(url);
  assert.equal(res.statusCode, 200, url);
  return (await res.body.json()) as T;
}

before(async () => {
  mesh = await startMesh(['examples/bookinfo'], { isolation: 'none', extraArgs: ['--prometheus', '--prometheus-interval', '1s'] });
  const o = mesh.mesh().observability;
  assert.ok(o, 'mesh.json names Prometheus and Alertmanager');
  prometheus = o.prometheus;
  alertmanager = o.alertmanager;
});
after(async () => {
  const dir = mesh?.stateDir;
  await mesh?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('every sidecar, the ingress gateway and the control plane are scraped', async () => {
  const up = await eventually('eight healthy targets', async () => {
    const t = await getJson<{ data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> } }>(`http://${prometheus}/api/v1/targets`);
    const healthy = t.data.activeTargets.filter((x) => x.health === 'up');
    return healthy.length === 8 ? healthy : undefined;
  }, 60_000);
  assert.deepEqual(up.map((t) => t.labels['pod'] ?? t.labels['app']).sort(), ['details-v1', 'productpage-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'weft-control', 'weft-ingressgateway']);
});

test("a plaintext request to a workload fires MeshPlaintextRequest in Alertmanager; Istio's recording rules answer", async () => {
  // PERMISSIVE lets plaintext in: exactly what the alert is for.
  const pa = 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: permissive, namespace: default }\nspec: { mtls: { mode: PERMISSIVE } }\n';
  assert.equal((await mesh.weft(['apply', '-f', '-'], pa)).code, 0);
  const productpage = mesh.workload('productpage-v1');
  await eventually('a plaintext request served', async () => {
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect(15006, productpage.podIP, () => c.write('GET /productpage HTTP/1.1\r\nhost: productpage:9080\r\nconnection: close\r\n\r\n'));
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('error', () => resolve(''));
      c.on('close', () => resolve(got));
    });
    return reply.startsWith('HTTP/1.1 200') ? true : undefined;
  });
  const alert = await eventually('MeshPlaintextRequest firing in Alertmanager', async () => {
    const alerts = await getJson<Array<{ labels: Record<string, string>; status: { state: string } }>>(`http://${alertmanager}/api/v2/alerts`);
    return alerts.find((a) => a.labels['alertname'] === 'MeshPlaintextRequest' && a.status.state === 'active');
  }, 90_000);
  assert.equal(alert.labels['destination_workload'], 'productpage-v1');
  assert.equal(alert.labels['severity'], 'critical');

  const recorded = await eventually('workload:istio_requests_total', async () => {
    const r = await getJson<{ data: { result: unknown[] } }>(`http://${prometheus}/api/v1/query?query=${encodeURIComponent('workload:istio_requests_total{connection_security_policy="none"}')}`);
    return r.data.result.length > 0 ? r.data.result : undefined;
  }, 30_000);
  assert.ok(recorded.length >= 1);
});
