/**
 * The egress gateway on loopback (`weft up --isolation=none`): the gateway process serves each Gateway server port on
 * a free loopback port, the registry's istio-egressgateway endpoint is that address and port, and Istio's task with
 * ISTIO_MUTUAL on the hop runs as in netns mode: sleep's call leaves through the gateway, which names sleep as the
 * caller; a sidecar whose Sidecar hides the route is refused. A plain HTTP server on loopback stands in for the host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { mutualEgressRoute } from './support/egress-gateway-task.js';
import { accessLines } from './support/access-log.js';
import type { AccessLine } from './support/access-log.js';
import { applyAndSync } from './support/config-sync.js';

const HOST = 'plain.outside.test';
let mesh: MeshRun | undefined;
let outside: http.Server;
let dir = '';

function config(port: number): string {
  return `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: istio-system }
spec:
  rootNamespace: istio-system
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: plain, namespace: external }
spec:
  hosts: [${HOST}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http-port: ${port} } }]
  ports: [{ number: 80, name: http-port, protocol: HTTP }]
---
${mutualEgressRoute(HOST)}`;
}

const HIDING_SIDECAR = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: curl-without-routes, namespace: default }
spec:
  workloadSelector: { labels: { app: curl } }
  egress: [{ hosts: ["external/*", "istio-system/*"] }]
`;

before(async () => {
  outside = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ server: 'outside-http', host: req.headers.host }));
  });
  await new Promise<void>((resolve) => outside.listen(0, '127.0.0.1', resolve));
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-loopback-egress-gateway-'));
  fs.writeFileSync(path.join(dir, 'egress.yaml'), config((outside.address() as AddressInfo).port));
  mesh = await startMesh(['examples/httpbin/sleep.yaml', 'examples/egress/curl.yaml', dir], { isolation: 'none' });
});

after(async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  outside.closeAllConnections();
  await new Promise((r) => outside.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function call(client: string): Promise<{ status: number; body: string }> {
  const r = await mesh!.weft(['exec', client, '--', 'curl', '-sS', '-m', '5', '-w', '\n%{http_code}', `http://${HOST}/egress`]);
  const lines = r.stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), body: `${lines.join('\n')} ${r.stderr}` };
}

test('loopback: the egress gateway serves on free loopback ports, its endpoint in the registry', async () => {
  const m = mesh!;
  const wl = JSON.parse((await m.weft(['get', 'workload', 'istio-egressgateway', '-n', 'istio-system', '-o', 'json'])).stdout) as { spec: { ports: { containerPort: number }[] }; status: { podIP: string } };
  assert.equal(wl.status.podIP, m.mesh().egressGateway!.podIP);
  assert.equal(wl.spec.ports.some((p) => p.containerPort === 443), false, 'server port 443 is served on a free loopback port');
  const gatewayLog = path.join(m.stateDir, 'logs', 'istio-system.istio-egressgateway.log');
  const out = await call('sleep');
  assert.equal(out.status, 200, out.body);
  assert.match(out.body, /"server":"outside-http"/);
  const line = await eventually('the gateway\'s access line', () => (accessLines(gatewayLog, 'gateway') as (AccessLine & { peer?: string })[]).find((l) => l.status === 200));
  assert.equal(line.peer, 'spiffe://cluster.local/ns/default/sa/sleep');
});

test('loopback: a sidecar that does not see the route to the gateway is refused the direct path', async () => {
  await applyAndSync(mesh!, 'apply', { yaml: HIDING_SIDECAR }, ['curl']);
  const out = await call('curl');
  assert.equal(out.status, 502, out.body);
  assert.match(out.body, /only through the egress gateway/);
});
