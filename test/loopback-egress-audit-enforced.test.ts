/**
 * `weft audit enforced` on a loopback mesh with both gateways: every proxy's ACKed config (sidecars, the ingress
 * gateway and the egress gateway) compiles again from the audited store revision to the same SHA-256.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { mutualEgressRoute } from './support/egress-gateway-task.js';
import type { EnforcedConfig } from '../src/control/enforced-config.js';
import type { AuditEntry } from '../src/control/store/audit-chain.js';

const HOST = 'plain.outside.test';
let mesh: MeshRun | undefined;
let dir = '';

const CONFIG = `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata: { name: mesh, namespace: istio-system }
spec:
  rootNamespace: istio-system
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: plain, namespace: external }
spec:
  hosts: [${HOST}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http-port: 9 } }]
  ports: [{ number: 80, name: http-port, protocol: HTTP }]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ingress, namespace: default }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 8080, name: http, protocol: HTTP }
    hosts: ["*"]
---
${mutualEgressRoute(HOST)}`;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-egress-audit-'));
  fs.writeFileSync(path.join(dir, 'mesh.yaml'), CONFIG);
  mesh = await startMesh(['examples/httpbin/sleep.yaml', dir], { isolation: 'none' });
});

after(async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('audit enforced reproduces the ACKed config of every proxy, the egress gateway included', { timeout: 60_000 }, async () => {
  const m = mesh!;
  const proxies = ['sidecar/default/sleep', 'gateway/istio-system/weft-ingressgateway', 'gateway/istio-system/istio-egressgateway'];
  let acked = new Set<string>();
  await eventually('an ACK by every proxy', async () => {
    const r = await m.weft(['audit', 'log', '--kind', 'push', '-o', 'json']);
    const pushes = JSON.parse(r.stdout) as AuditEntry[];
    acked = new Set(pushes.flatMap((e) => (e.type === 'push' && e.outcome === 'ack' ? [e.proxy] : [])));
    return proxies.every((p) => acked.has(p)) || undefined;
  }).catch((err: unknown) => assert.fail(`${String(err)}; ACKs by ${[...acked].join(', ')}`));
  const at = new Date().toISOString();
  for (const proxy of proxies) {
    const r = await m.weft(['audit', 'enforced', proxy, '--at', at, '-o', 'json']);
    assert.ok(r.stdout.startsWith('{'), `${proxy}: ${r.stderr}`);
    const answer = JSON.parse(r.stdout) as EnforcedConfig;
    assert.deepEqual([proxy, answer.reproduced, r.code], [proxy, true, 0], `${proxy}: ${answer.ack.configSha256} != ${answer.reproducedSha256}`);
  }
});
