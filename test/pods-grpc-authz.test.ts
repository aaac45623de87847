/**
 * AuthorizationPolicy on gRPC calls in network namespaces: examples/grpc-echo's three replicas behind their
 * sidecars, called from the sleep pod. The replica's sidecar judges each call's path and answers a denial in gRPC's
 * terms (grpc-status 7), and its access log says which policy and rule decided.
 * Root, `ip netns`, iptables and setpriv are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from './support/mesh-process.js';
import { meshTraces, podTestSkipReason } from './support/netns-traces.js';
import { applyAndSync } from './support/config-sync.js';
import { ECHO_REPLICAS, SLEEP_ID, echoPolicy, grpcEchoMesh } from './support/grpc-echo-mesh.js';

const skip = await podTestSkipReason(['iptables', 'setpriv']);
const echo = grpcEchoMesh('grpc-authz', skip);

test('gRPC in the mesh: AuthorizationPolicy per call', { skip, timeout: 180_000 }, async (t) => {
  const m = await echo.start();

  await t.test('an ALLOW policy for another method denies the call: grpc-status 7, and the log says why', async () => {
    await applyAndSync(m, 'apply', { yaml: echoPolicy('echo-other-only', 'ALLOW', ['/echo.Echo/Other']) }, ECHO_REPLICAS);
    const before = echo.echoLines().length;
    const r = await echo.grpcCall('denied');
    assert.equal(r.code, 1, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-status: 7$/m);
    assert.doesNotMatch(r.stdout, /denied$/m, 'the app never answered');
    const line = await eventually('the denied call in the log', () => echo.echoLines().slice(before).find((l) => l.path === '/echo.Echo/Say'));
    assert.equal(line.status, 403);
    assert.equal(line.peer, SLEEP_ID);
    assert.equal(line.authz?.decision, 'DENY');
  });

  await t.test('a DENY policy is named in the log', async () => {
    await applyAndSync(m, 'apply', { yaml: echoPolicy('echo-deny-say', 'DENY', ['/echo.Echo/Say']) }, ECHO_REPLICAS);
    const before = echo.echoLines().length;
    const r = await echo.grpcCall('denied again');
    assert.match(r.stdout, /^grpc-status: 7$/m, r.stderr);
    const line = await eventually('the denied call in the log', () => echo.echoLines().slice(before).find((l) => l.path === '/echo.Echo/Say'));
    assert.deepEqual(line.authz, { decision: 'DENY', policy: 'default/echo-deny-say', rule: 0 });
    await applyAndSync(m, 'delete', { yaml: echoPolicy('echo-deny-say', 'DENY', ['/echo.Echo/Say']) }, ECHO_REPLICAS);
  });

  await t.test("ALLOW for /echo.Echo/Say from sleep's principal: the call succeeds again", async () => {
    await applyAndSync(m, 'apply', { yaml: echoPolicy('echo-other-only', 'ALLOW', ['/echo.Echo/Say'], ['cluster.local/ns/default/sa/sleep']) }, ECHO_REPLICAS);
    const r = await echo.grpcCall('welcome');
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-echo[\w-]*: welcome$/m);
    assert.match(r.stdout, /^grpc-status: 0$/m);
    const line = await eventually('the allowed call in the log', () => echo.echoLines().find((l) => l.authz?.policy === 'default/echo-other-only'));
    assert.equal(line.authz?.decision, 'ALLOW');
  });

  await t.test('a stop leaves nothing of the mesh behind', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(echo.digest), []);
  });
});
