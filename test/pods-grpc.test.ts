/**
 * gRPC through the mesh in network namespaces: examples/grpc-echo's h2c server (three replicas) behind their
 * sidecars, called from the sleep pod with a gRPC client. The client's connection to the service address is
 * captured; sleep's sidecar takes each call as one stream through its request path, balances it over the replicas
 * and carries it over mTLS; the replica's sidecar judges AuthorizationPolicy on each call's path and answers a
 * denial in gRPC's terms (grpc-status 7).
 * Root, `ip netns`, iptables and setpriv are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, podTestSkipReason } from './support/netns-traces.js';
import { applyAndSync } from './support/config-sync.js';
import { inboundAccessLines } from './support/access-log.js';
import { cleanup } from './support/cleanup.js';

const skip = await podTestSkipReason(['iptables', 'setpriv']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-grpc-'));
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;

cleanup('pods-grpc', async () => {
  await mesh?.stop('SIGTERM');
  if (!skip) await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const SLEEP_ID = 'spiffe://cluster.local/ns/default/sa/sleep';

function policy(name: string, action: 'ALLOW' | 'DENY', paths: string[], principals?: string[]): string {
  const from = principals ? `\n  - from: [{ source: { principals: ${JSON.stringify(principals)} } }]\n    to` : '\n  - to';
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: default }
spec:
  selector: { matchLabels: { app: grpc-echo } }
  action: ${action}
  rules:${from}: [{ operation: { paths: ${JSON.stringify(paths)} } }]
`;
}

test('gRPC in the mesh: h2c through captured mTLS, AuthorizationPolicy per call', { skip, timeout: 180_000 }, async (t) => {
  mesh = await startMesh(['examples/httpbin', 'examples/grpc-echo'], { stateDir, isolation: 'netns' });
  const m = mesh;
  // Three replicas: a call is logged by whichever replica's sidecar it was balanced to.
  const echoLogs = ['grpc-echo', 'grpc-echo-2', 'grpc-echo-3'].map((n) => path.join(stateDir, 'logs', `default.${n}.sidecar.log`));
  // In time order, so that lines logged after a point are the tail whichever replica logged them.
  const echoLines = (): ReturnType<typeof inboundAccessLines> =>
    echoLogs.flatMap((f) => inboundAccessLines(f)).sort((a, b) => ((a as { time?: string }).time ?? '').localeCompare((b as { time?: string }).time ?? ''));
  const replicas = ['grpc-echo', 'grpc-echo-2', 'grpc-echo-3'];
  const grpcCall = (message: string): ReturnType<MeshRun['weft']> =>
    m.weft(['exec', 'sleep', '--', 'timeout', '20', 'node', 'dist/examples/grpc-echo/grpc-call.js', 'grpc-echo:50051', message]);

  await t.test('a call from sleep is answered, with grpc-status 0 in the trailers', async () => {
    const r = await grpcCall('hi');
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-echo[\w-]*: hi$/m);
    assert.match(r.stdout, /^grpc-status: 0$/m);
  });

  await t.test("grpc-echo's sidecar logged POST /echo.Echo/Say from sleep's SPIFFE identity", async () => {
    const line = await eventually('an inbound /echo.Echo/Say line', () => echoLines().find((l) => l.path === '/echo.Echo/Say'));
    assert.equal(line.method, 'POST');
    assert.equal(line.status, 200);
    assert.equal(line.peer, SLEEP_ID);
  });

  await t.test('an ALLOW policy for another method denies the call: grpc-status 7, and the log says why', async () => {
    await applyAndSync(m, 'apply', { yaml: policy('echo-other-only', 'ALLOW', ['/echo.Echo/Other']) }, replicas);
    const before = echoLines().length;
    const r = await grpcCall('denied');
    assert.equal(r.code, 1, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-status: 7$/m);
    assert.doesNotMatch(r.stdout, /denied$/m, 'the app never answered');
    const line = await eventually('the denied call in the log', () => echoLines().slice(before).find((l) => l.path === '/echo.Echo/Say'));
    assert.equal(line.status, 403);
    assert.equal(line.peer, SLEEP_ID);
    assert.equal(line.authz?.decision, 'DENY');
  });

  await t.test("a DENY policy is named in the log", async () => {
    await applyAndSync(m, 'apply', { yaml: policy('echo-deny-say', 'DENY', ['/echo.Echo/Say']) }, replicas);
    const before = echoLines().length;
    const r = await grpcCall('denied again');
    assert.match(r.stdout, /^grpc-status: 7$/m, r.stderr);
    const line = await eventually('the denied call in the log', () => echoLines().slice(before).find((l) => l.path === '/echo.Echo/Say'));
    assert.deepEqual(line.authz, { decision: 'DENY', policy: 'default/echo-deny-say', rule: 0 });
    await applyAndSync(m, 'delete', { yaml: policy('echo-deny-say', 'DENY', ['/echo.Echo/Say']) }, replicas);
  });

  await t.test("ALLOW for /echo.Echo/Say from sleep's principal: the call succeeds again", async () => {
    await applyAndSync(m, 'apply', { yaml: policy('echo-other-only', 'ALLOW', ['/echo.Echo/Say'], ['cluster.local/ns/default/sa/sleep']) }, replicas);
    const r = await grpcCall('welcome');
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-echo[\w-]*: welcome$/m);
    assert.match(r.stdout, /^grpc-status: 0$/m);
    const line = await eventually('the allowed call in the log', () => echoLines().find((l) => l.authz?.policy === 'default/echo-other-only'));
    assert.equal(line.authz?.decision, 'ALLOW');
  });

  await t.test('300 calls on one connection are balanced per call over the three replicas', async () => {
    await applyAndSync(m, 'delete', { yaml: policy('echo-other-only', 'ALLOW', ['/echo.Echo/Say'], ['cluster.local/ns/default/sa/sleep']) }, replicas);
    const r = await m.weft(['exec', 'sleep', '--', 'timeout', '60', 'node', 'dist/examples/grpc-echo/grpc-call.js', 'grpc-echo:50051', 'spread', '300']);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    const counts = [...r.stdout.matchAll(/^(grpc-echo[\w-]*) answered (\d+)$/gm)].map((x) => Number(x[2]));
    assert.equal(counts.length, 3, r.stdout);
    // Istio's default balancer (least request) over three idle hosts: each gets its share, give or take.
    for (const n of counts) assert.ok(n >= 50, r.stdout);
  });

  await t.test('a stop leaves nothing of the mesh behind', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
