/**
 * gRPC through the mesh in network namespaces: examples/grpc-echo's h2c server (three replicas) behind their
 * sidecars, called from the sleep pod with a gRPC client. The client's connection to the service address is
 * captured; sleep's sidecar takes each call as one stream through its request path, balances it over the replicas
 * and carries it over mTLS. AuthorizationPolicy per call is in pods-grpc-authz.test.ts.
 * Root, `ip netns`, iptables and setpriv are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from './support/mesh-process.js';
import { meshTraces, podTestSkipReason } from './support/netns-traces.js';
import { SLEEP_ID, grpcEchoMesh } from './support/grpc-echo-mesh.js';

const skip = await podTestSkipReason(['iptables', 'setpriv']);
const echo = grpcEchoMesh('grpc', skip);

test('gRPC in the mesh: h2c through captured mTLS, balanced per call', { skip, timeout: 180_000 }, async (t) => {
  const m = await echo.start();

  await t.test('a call from sleep is answered, with grpc-status 0 in the trailers', async () => {
    const r = await echo.grpcCall('hi');
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /^grpc-echo[\w-]*: hi$/m);
    assert.match(r.stdout, /^grpc-status: 0$/m);
  });

  await t.test("grpc-echo's sidecar logged POST /echo.Echo/Say from sleep's SPIFFE identity", async () => {
    const line = await eventually('an inbound /echo.Echo/Say line', () => echo.echoLines().find((l) => l.path === '/echo.Echo/Say'));
    assert.equal(line.method, 'POST');
    assert.equal(line.status, 200);
    assert.equal(line.peer, SLEEP_ID);
  });

  await t.test('300 calls on one connection are balanced per call over the three replicas', async () => {
    const r = await echo.grpcCall('spread', 300);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    const counts = [...r.stdout.matchAll(/^(grpc-echo[\w-]*) answered (\d+)$/gm)].map((x) => Number(x[2]));
    assert.equal(counts.length, 3, r.stdout);
    // Istio's default balancer (least request) over three idle hosts: each gets its share, give or take.
    for (const n of counts) assert.ok(n >= 50, r.stdout);
  });

  await t.test('a stop leaves nothing of the mesh behind', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(echo.digest), []);
  });
});
