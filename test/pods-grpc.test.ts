/**
 * gRPC through the mesh in network namespaces: examples/grpc-echo's h2c server behind its sidecar, called from the
 * sleep pod with a gRPC client. The client's connection to the service address is captured and tunnelled over
 * mTLS; grpc-echo's sidecar serves it as HTTP/2 per stream, with AuthorizationPolicy judged on each call's path
 * and a denial answered in gRPC's terms (grpc-status 7).
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
  const echoLog = path.join(stateDir, 'logs', 'default.grpc-echo.sidecar.log');
  const grpcCall = (message: string): ReturnType<MeshRun['weft']> =>
    m.weft(['exec', 'sleep', '--', 'timeout', '20', 'node', 'dist/examples/grpc-echo/grpc-call.js', 'grpc-echo:50051', message]);

  await t.test('a call from sleep is answered, with grpc-status 0 in the trailers', async () => {
    const r = await grpcCall('hi');
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-echo[\w-]*: hi$/m);
    assert.match(r.stdout, /^grpc-status: 0$/m);
  });

  await t.test("grpc-echo's sidecar logged POST /echo.Echo/Say from sleep's SPIFFE identity", async () => {
    const line = await eventually('an inbound /echo.Echo/Say line', () => inboundAccessLines(echoLog).find((l) => l.path === '/echo.Echo/Say'));
    assert.equal(line.method, 'POST');
    assert.equal(line.status, 200);
    assert.equal(line.peer, SLEEP_ID);
  });

  await t.test('an ALLOW policy for another method denies the call: grpc-status 7, and the log says why', async () => {
    await applyAndSync(m, 'apply', { yaml: policy('echo-other-only', 'ALLOW', ['/echo.Echo/Other']) }, ['grpc-echo']);
    const before = inboundAccessLines(echoLog).length;
    const r = await grpcCall('denied');
    assert.equal(r.code, 1, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-status: 7$/m);
    assert.doesNotMatch(r.stdout, /denied$/m, 'the app never answered');
    const line = await eventually('the denied call in the log', () => inboundAccessLines(echoLog).slice(before).find((l) => l.path === '/echo.Echo/Say'));
    assert.equal(line.status, 403);
    assert.equal(line.peer, SLEEP_ID);
    assert.equal(line.authz?.decision, 'DENY');
  });

  await t.test("a DENY policy is named in the log", async () => {
    await applyAndSync(m, 'apply', { yaml: policy('echo-deny-say', 'DENY', ['/echo.Echo/Say']) }, ['grpc-echo']);
    const before = inboundAccessLines(echoLog).length;
    const r = await grpcCall('denied again');
    assert.match(r.stdout, /^grpc-status: 7$/m, r.stderr);
    const line = await eventually('the denied call in the log', () => inboundAccessLines(echoLog).slice(before).find((l) => l.path === '/echo.Echo/Say'));
    assert.deepEqual(line.authz, { decision: 'DENY', policy: 'default/echo-deny-say', rule: 0 });
    await applyAndSync(m, 'delete', { yaml: policy('echo-deny-say', 'DENY', ['/echo.Echo/Say']) }, ['grpc-echo']);
  });

  await t.test("ALLOW for /echo.Echo/Say from sleep's principal: the call succeeds again", async () => {
    await applyAndSync(m, 'apply', { yaml: policy('echo-other-only', 'ALLOW', ['/echo.Echo/Say'], ['cluster.local/ns/default/sa/sleep']) }, ['grpc-echo']);
    const r = await grpcCall('welcome');
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-echo[\w-]*: welcome$/m);
    assert.match(r.stdout, /^grpc-status: 0$/m);
    const line = await eventually('the allowed call in the log', () => inboundAccessLines(echoLog).find((l) => l.authz?.policy === 'default/echo-other-only'));
    assert.equal(line.authz?.decision, 'ALLOW');
  });

  await t.test('a stop leaves nothing of the mesh behind', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
