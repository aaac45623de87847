/**
 * `weft proxy-config` and `weft route check` on a real mesh (loopback pods): after a VirtualService and a
 * DestinationRule are applied, the proxy-config tables show the version the proxy ACKed and what it runs, the
 * endpoints' outlier state as the proxy reports it (an ejected host FAILED), its certificate, and route check on the
 * running mesh agrees with where actual requests go.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { request } from 'undici';
import { callAs, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { applyAndSync, proxyStatuses } from './support/config-sync.js';
import { cleanup } from './support/cleanup.js';

let mesh: MeshRun;

const ROUTING = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: backend }
spec:
  host: backend
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy:
      outlierDetection: { consecutive5xxErrors: 2, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100 }
  - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: backend }
spec:
  hosts: [backend]
  http:
  - name: jason
    match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: backend, subset: v2 } }]
  - name: everyone
    timeout: 3s
    retries: { attempts: 1, retryOn: gateway-error }
    route: [{ destination: { host: backend, subset: v1 } }]
`;

before(async () => {
  mesh = await startMesh(['examples/resilience/backend.yaml'], { isolation: 'none' });
  await applyAndSync(mesh, 'apply', { yaml: ROUTING }, ['client']);
});
cleanup('proxy-config', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

async function weftJson<T>(args: string[]): Promise<T> {
  const r = await mesh.weft(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

async function ackedVersion(): Promise<string> {
  const client = (await proxyStatuses(mesh)).find((p) => p.id === 'sidecar/default/client');
  assert.ok(client?.ackedVersion);
  return client.ackedVersion;
}

const V1 = 'outbound|8000|v1|backend.default.svc.cluster.local';
const V2 = 'outbound|8000|v2|backend.default.svc.cluster.local';

test('routes and clusters: the ACKed version, the VirtualService rules and the DestinationRule subsets', async () => {
  const acked = await ackedVersion();
  const routes = await weftJson<{ configVersion: string; routes: Array<{ virtualHost: string; match: string; virtualService: string | null }> }>(['proxy-config', 'client', 'routes', '-o', 'json']);
  assert.equal(routes.configVersion, acked);
  const backend = routes.routes.filter((r) => r.virtualHost === 'backend.default.svc.cluster.local:8000');
  assert.deepEqual(backend.map((r) => [r.match, r.virtualService]), [['header end-user exact "jason"', 'default/backend'], ['/*', 'default/backend']]);

  const table = await mesh.weft(['proxy-config', 'default/client', 'routes']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`^# sidecar/default/client: config ${acked}, ACKed `));
  assert.match(table.stdout, /\nNAME +VHOST NAME +DOMAINS +MATCH +VIRTUAL SERVICE\n/);
  assert.match(table.stdout, /8000 +backend\.default\.svc\.cluster\.local:8000 +backend\.default\.svc\.cluster\.local, backend.* +header end-user exact "jason" +default\/backend/);

  const clusters = await mesh.weft(['proxy-config', 'client', 'clusters']);
  assert.equal(clusters.code, 0, clusters.stderr);
  assert.match(clusters.stdout, /backend\.default\.svc\.cluster\.local +8000 +v2 +outbound +EDS +default\/backend/);
  assert.match(clusters.stdout, /BlackHoleCluster +- +- +- +STATIC/);
});

test('endpoints from the proxy itself: an ejected host is FAILED; secrets are the SVID and the root', async () => {
  const v1 = mesh.workload('backend-v1');
  const put = await request(`http://${v1.app[0]}/failing?on=true`, { method: 'PUT' });
  assert.equal(put.statusCode, 200);
  await put.body.dump();
  // Two 500s from v1 (not retried: the rule retries gateway errors only) eject it from subset v1.
  for (let i = 0; i < 2; i++) assert.equal((await callAs(mesh.workload('client'), 'http://backend:8000/x')).status, 500);

  type Endpoints = { runningVersion: string; endpoints: Array<{ endpoint: string; cluster: string; outlierCheck: string }> };
  const eps = await weftJson<Endpoints>(['proxy-config', 'client', 'endpoints', '-o', 'json']);
  assert.equal(eps.runningVersion, await ackedVersion());
  const v1Endpoint = `${v1.podIP}:15006`;
  assert.deepEqual(eps.endpoints.filter((e) => e.cluster === V1).map((e) => [e.endpoint, e.outlierCheck]), [[v1Endpoint, 'FAILED']]);
  assert.deepEqual(eps.endpoints.filter((e) => e.cluster === V2).map((e) => e.outlierCheck), ['OK']);
  const table = await mesh.weft(['proxy-config', 'client', 'endpoints']);
  assert.match(table.stdout, new RegExp(`${v1Endpoint.replaceAll('.', '\\.')} +HEALTHY +FAILED +${V1.replaceAll('|', '\\|').replaceAll('.', '\\.')}`));

  const secrets = await weftJson<{ secrets: Array<{ name: string; type: string; valid: boolean; notAfter: string; subjectAltNames: string[] }> }>(['proxy-config', 'client', 'secrets', '-o', 'json']);
  const svid = secrets.secrets.find((s) => s.name === 'default');
  assert.equal(svid?.type, 'Cert Chain');
  assert.equal(svid.valid, true);
  assert.deepEqual(svid.subjectAltNames, ['URI:spiffe://cluster.local/ns/default/sa/client']);
  const status = (await proxyStatuses(mesh)).find((p) => p.id === 'sidecar/default/client');
  assert.equal(Date.parse(svid.notAfter), Date.parse(status?.certNotAfter ?? ''));
  assert.ok(secrets.secrets.some((s) => s.name === 'ROOTCA' && s.type === 'CA'));
  assert.ok(!JSON.stringify(secrets).includes('PRIVATE KEY'));
  const secretTable = await mesh.weft(['proxy-config', 'client', 'secrets', '-o', 'yaml']);
  assert.match(secretTable.stdout, /name: default\n\s+type: Cert Chain/);
});

test('route check on the running mesh agrees with where requests go', async () => {
  type Check = { source: string; rule: { virtualService: string; name: string } | null; destinations: Array<{ subset: string | null; percent: number; cluster: { name: string } }>; timeoutMs: number; retries: { attempts: number; retryOn: string[] } };
  const cases: Array<{ headers: Record<string, string>; rule: string; subset: string }> = [
    { headers: { 'end-user': 'jason' }, rule: 'jason', subset: 'v2' },
    { headers: { 'end-user': 'bob' }, rule: 'everyone', subset: 'v1' },
  ];
  // v1 answers again; its ejection does not change where the route sends requests.
  await (await request(`http://${mesh.workload('backend-v1').app[0]}/failing?on=false`, { method: 'PUT' })).body.dump();
  for (const c of cases) {
    const flags = Object.entries(c.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
    const check = await weftJson<Check>(['route', 'check', '--from', 'client', 'http://backend:8000/where', ...flags, '-o', 'json']);
    assert.match(check.source, /^ACKed /);
    assert.equal(check.rule?.virtualService, 'default/backend');
    assert.equal(check.rule.name, c.rule);
    assert.deepEqual(check.destinations.map((d) => [d.subset, d.percent]), [[c.subset, 100]]);
    if (c.subset === 'v2') {
      // The request itself: v1 is ejected for 30s, v2 answers.
      const reply = await callAs(mesh.workload('client'), 'http://backend:8000/where', { headers: c.headers });
      assert.equal(reply.status, 200);
      assert.equal((JSON.parse(reply.body) as { version: string }).version, check.destinations[0]!.subset);
    } else {
      assert.equal(check.timeoutMs, 3000);
      assert.deepEqual([check.retries.attempts, check.retries.retryOn], [1, ['gateway-error']]);
      // Subset v1's only host is ejected: the request path answers 503 UH, as its cluster says.
      const reply = await callAs(mesh.workload('client'), 'http://backend:8000/where', { headers: c.headers });
      assert.equal(reply.status, 503);
    }
  }
  const text = await mesh.weft(['route', 'check', '--from', 'client', 'backend:8000', '--path', '/where', '-H', 'end-user: jason']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /route: +VirtualService default\/backend http\[0\] "jason", match \[0\] header end-user exact "jason"/);
  assert.match(text.stdout, new RegExp(`v2 +100 \\(100%\\) +${V2.replaceAll('|', '\\|').replaceAll('.', '\\.')} +default/backend +1 `));

  const missing = await mesh.weft(['route', 'check', '--from', 'nobody', 'http://backend:8000/']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no proxy of workload "nobody"/);
});
