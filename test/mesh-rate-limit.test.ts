/**
 * Local rate limits on a real mesh (loopback pods): httpbin's sidecar enforces the examples/rate-limit policy (1 request
 * per second per identity, 5 for notsleep). sleep over its limit gets Envoy's 429 while notsleep is still served;
 * httpbin's sidecar counts the refusals in weft_rate_limited_total and names the policy in its access log.
 * Requests are sent together, so every one arrives within the policy's one-second window.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';

interface AccessEntry {
  direction?: string;
  status?: number;
  peer?: string;
  responseFlags?: string;
  rateLimit?: { policy: string; scope: string };
}

function httpbinAccessLog(mesh: MeshRun): AccessEntry[] {
  return fs
    .readFileSync(path.join(mesh.stateDir, 'logs', 'default.httpbin.sidecar.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as AccessEntry)
    .filter((e) => e.direction === 'inbound');
}

describe('LocalRateLimitPolicy on httpbin', () => {
  let mesh: MeshRun;
  before(async () => {
    // `weft up` reports the mesh only once every proxy has acknowledged its config: the policy is in force from the start.
    mesh = await startMesh(['examples/httpbin', 'examples/rate-limit'], { isolation: 'none' });
  });
  after(async () => {
    await mesh?.stop();
    if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  });

  const together = (from: string, n: number): Promise<Array<Awaited<ReturnType<typeof callAs>>>> =>
    Promise.all(Array.from({ length: n }, () => callAs(mesh.workload(from), 'http://httpbin:8000/get')));

  test('sleep over its per-identity limit gets 429 with x-envoy-ratelimited while notsleep is still served', async () => {
    const fromSleep = await together('sleep', 5);
    assert.deepEqual(fromSleep.map((r) => r.status).sort(), [200, 429, 429, 429, 429]);
    for (const r of fromSleep.filter((x) => x.status === 429)) {
      assert.equal(r.headers['x-envoy-ratelimited'], 'true');
      assert.equal(r.body, 'local_rate_limited');
    }
    const served = fromSleep.find((r) => r.status === 200)!;
    assert.match(served.body, /"url"/, 'the admitted request reached httpbin');
    // notsleep has its own identity, and its override allows a burst of five.
    const fromNotsleep = await together('notsleep', 5);
    assert.deepEqual(fromNotsleep.map((r) => r.status), [200, 200, 200, 200, 200]);
  });

  test('httpbin\'s sidecar counts the refusals and its access log names the policy', async () => {
    const stats = await request(`http://${mesh.workload('httpbin').podIP}:15020/stats/prometheus`);
    const text = await stats.body.text();
    assert.match(text, /^weft_rate_limited_total\{policy="default\/httpbin",scope="identity",workload="default\/httpbin"\} 4$/m);
    assert.doesNotMatch(text, /weft_rate_limited_total\{[^}]*scope="(total|override)"/);
    // Access-log lines are written off the request path: wait for all ten.
    const lines = await eventually('ten requests in the access log', () => {
      const all = httpbinAccessLog(mesh);
      return all.length === 10 ? all : undefined;
    });
    const limited = lines.filter((e) => e.status === 429);
    assert.equal(limited.length, 4);
    for (const e of limited) {
      assert.equal(e.responseFlags, 'RL');
      assert.deepEqual(e.rateLimit, { policy: 'default/httpbin', scope: 'identity' });
      assert.equal(e.peer, 'spiffe://cluster.local/ns/default/sa/sleep');
    }
    const admitted = lines.filter((e) => e.status === 200);
    assert.deepEqual(admitted.map((e) => e.peer?.split('/').at(-1)).sort(), ['notsleep', 'notsleep', 'notsleep', 'notsleep', 'notsleep', 'sleep']);
    assert.ok(admitted.every((e) => e.responseFlags === undefined));
  });

  test('weft get lists the policy', async () => {
    const r = await mesh.weft(['get', 'localratelimitpolicies', '-n', 'default']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^httpbin\b/m);
  });
});
