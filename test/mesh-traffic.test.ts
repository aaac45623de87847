/**
 * VirtualService and DestinationRule enforced by a sidecar on a real mesh (examples/resilience): rewrite, redirect,
 * direct response, header operations, route timeout (504 UT), retries counted at the upstream, per-try timeout,
 * CORS, mirroring seen by the mirror target, fault delay, an unknown subset (refused at apply, 503 NR once forced),
 * connection-pool overflow
 * (503 UO), outlier ejection and return, consistent hashing by header, and round robin that a push of unrelated
 * config does not reset. One mesh for the file.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { accessLines } from './support/access-log.js';
import { cleanup } from './support/cleanup.js';

let mesh: MeshRun;

before(async () => {
  mesh = await startMesh(['examples/resilience'], { isolation: 'none' });
});
cleanup('mesh-traffic', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

type Reply = Awaited<ReturnType<typeof callAs>>;

function call(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return callAs(mesh.workload('client'), url, { headers });
}

/** What reached one backend pod with this key, asked of the app itself. */
async function seenBy(version: string, key: string): Promise<{ count: number; requests: Array<{ path: string; host: string }> }> {
  const res = await request(`http://${mesh.workload(`backend-${version}`).app[0]}/calls?key=${key}`);
  return (await res.body.json()) as { count: number; requests: Array<{ path: string; host: string }> };
}

function versionOf(r: Reply): string {
  return (JSON.parse(r.body) as { version: string }).version;
}

function clientLog(): string {
  return path.join(mesh.stateDir, 'logs', 'default.client.sidecar.log');
}

test('rewrite, redirect, direct response and header operations', async () => {
  const rewritten = await call('http://backend:8000/old/thing?q=1', { 'x-test-key': 'rewrite' });
  assert.equal(rewritten.status, 200);
  assert.deepEqual((await seenBy('v1', 'rewrite')).requests.map((r) => r.path), ['/new/thing?q=1']);

  const moved = await call('http://backend:8000/moved');
  assert.equal(moved.status, 302);
  assert.equal(moved.headers.location, 'http://backend:8000/new/place');

  const direct = await call('http://backend:8000/only-listed');
  assert.equal(direct.status, 418);
  assert.equal(direct.body, 'listed routes only');

  const headers = await call('http://backend:8000/headers', { 'x-test-key': 'headers' });
  assert.equal(headers.status, 200);
  assert.equal(headers.headers['x-answered-by'], 'backend-mesh');
});

test('route timeout: 504 with UT after 0.5s', async () => {
  const started = Date.now();
  const r = await call('http://backend:8000/delay/3000');
  const took = Date.now() - started;
  assert.equal(r.status, 504);
  assert.equal(r.body, 'upstream request timeout');
  assert.ok(took >= 450 && took < 2500, `answered after ${took}ms`);
  const line = await eventually('the access line', () => accessLines(clientLog(), 'outbound').find((e) => e.path === '/delay/3000'));
  assert.equal(line.responseFlags, 'UT');
});

test('retries: the upstream sees every attempt, the client one answer', async () => {
  const r = await call('http://backend:8000/fail-first/2', { 'x-test-key': 'retries' });
  assert.equal(r.status, 200);
  assert.equal((await seenBy('v2', 'retries')).count, 3);
  const line = await eventually('the access line', () => accessLines(clientLog(), 'outbound').find((e) => e.path === '/fail-first/2'));
  assert.equal(line.attempts, 3);

  // Three failures more than the three retries allow: the last 503 stands, flagged URX.
  const exhausted = await call('http://backend:8000/fail-first/9', { 'x-test-key': 'exhausted' });
  assert.equal(exhausted.status, 503);
  assert.equal((await seenBy('v2', 'exhausted')).count, 4);
});

test('per-try timeout: each attempt cut at 0.3s, retried, then 504', async () => {
  const started = Date.now();
  const r = await call('http://backend:8000/delay/2000', { 'x-per-try': '1', 'x-test-key': 'per-try' });
  const took = Date.now() - started;
  assert.equal(r.status, 504);
  assert.ok(took >= 850 && took < 2000, `answered after ${took}ms`);
  assert.equal((await seenBy('v1', 'per-try')).count, 3);
});

test('CORS: an allowed preflight is answered by the proxy; other origins get no CORS headers', async () => {
  const client = mesh.workload('client');
  const preflight = await callAs(client, 'http://backend:8000/cors', {
    method: 'OPTIONS',
    headers: { origin: 'https://example.com', 'access-control-request-method': 'POST', 'x-test-key': 'cors' },
  });
  assert.equal(preflight.status, 200);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://example.com');
  assert.equal(preflight.headers['access-control-allow-methods'], 'GET,POST');
  assert.equal(preflight.headers['access-control-max-age'], '3600');
  assert.equal((await seenBy('v1', 'cors')).count, 0, 'the preflight never reached the app');
  const simple = await call('http://backend:8000/cors', { origin: 'https://example.com' });
  assert.equal(simple.headers['access-control-allow-origin'], 'https://example.com');
  const other = await call('http://backend:8000/cors', { origin: 'https://elsewhere.example' });
  assert.equal(other.status, 200);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('mirror: the mirror target sees the copy with a -shadow host; the client only the real answer', async () => {
  const r = await call('http://backend:8000/mirrored', { 'x-test-key': 'mirror' });
  assert.equal(r.status, 200);
  assert.equal(versionOf(r), 'v1');
  const shadow = await eventually('the mirrored copy', async () => ((await seenBy('v3', 'mirror')).count === 1 ? seenBy('v3', 'mirror') : undefined));
  assert.deepEqual(shadow.requests, [{ method: 'GET', path: '/mirrored', host: 'backend-shadow:8000' }]);
  assert.equal((await seenBy('v1', 'mirror')).count, 1);
});

test('fault delay holds the request 1s', async () => {
  const started = Date.now();
  const slowed = await call('http://backend:8000/slowed');
  assert.equal(slowed.status, 200);
  assert.ok(Date.now() - started >= 950, 'delayed');
});

test('a route to an unknown subset: refused at apply (IST0101), and once forced, 503 NR', async () => {
  const refused = await mesh.weft(['apply', '-f', 'examples/resilience/dangling/']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\[IST0101\] spec\.http\[0\]\.route\[0\]\.destination\.subset: Referenced host\+subset in destinationrule not found: "backend-canary\+v9"/);
  const forced = await mesh.weft(['apply', '--force', '-f', 'examples/resilience/dangling/']);
  assert.equal(forced.code, 0, forced.stderr);
  const nowhere = await eventually('the forced route', async () => {
    const r = await call('http://backend-canary:8002/');
    return r.status === 503 ? r : undefined;
  });
  assert.equal(nowhere.body, 'no healthy upstream');
});

test('connection pool overflow: one connection, one pending, the rest 503 UO', async () => {
  // Each admitted request holds the one connection for 2s: the other three arrive while both places are taken.
  const replies = await Promise.all(Array.from({ length: 5 }, () => call('http://backend-limited:8001/delay/2000')));
  const statuses = replies.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 503, 503, 503]);
  for (const r of replies.filter((x) => x.status === 503)) {
    assert.equal(r.headers['x-envoy-overloaded'], 'true');
    assert.equal(r.body, 'upstream connect error or disconnect/reset before headers. reset reason: overflow');
  }
});

test('outlier detection: a failing host is ejected, then returns', async () => {
  const v3 = mesh.workload('backend-v3').app[0]!;
  const fail = async (on: boolean): Promise<void> => {
    const res = await request(`http://${v3}/failing?on=${on}`, { method: 'PUT' });
    await res.body.dump();
  };
  await fail(true);
  try {
    // Round robin reaches v3 every third request: two 500s in a row from it eject it.
    const first = [];
    for (let i = 0; i < 9; i++) first.push(await call('http://backend-outlier:8002/'));
    assert.deepEqual(first.filter((r) => r.status === 500).length, 2);
    const after = [];
    for (let i = 0; i < 12; i++) after.push(await call('http://backend-outlier:8002/'));
    assert.deepEqual(new Set(after.map(versionOf)), new Set(['v1', 'v2']), 'v3 ejected');
    assert.ok(after.every((r) => r.status === 200));
  } finally {
    await fail(false);
  }
  // Back after the 5s ejection, at the next 1s sweep.
  await eventually(
    'v3 to return',
    async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(versionOf(await call('http://backend-outlier:8002/')));
      return seen.has('v3') ? true : undefined;
    },
    15_000,
  );
});

test('consistent hashing on a header: one user, one host', async () => {
  for (const user of ['alice', 'bob', 'carol']) {
    const versions = new Set<string>();
    for (let i = 0; i < 6; i++) versions.add(versionOf(await call('http://backend-sticky:8003/', { 'x-user': user })));
    assert.equal(versions.size, 1, `${user} went to ${[...versions].join(', ')}`);
  }
});

test('a push of unrelated config does not reset round robin', async () => {
  const order = ['v1', 'v2', 'v3'];
  const next = (v: string): string => order[(order.indexOf(v) + 1) % 3]!;
  let last = versionOf(await call('http://backend:8000/'));
  for (let push = 0; push < 3; push++) {
    const before = await clientVersion();
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: unrelated }
spec:
  hosts: [backend-limited]
  http:
  - headers: { request: { set: { x-push: "${push}" } } }
    route: [{ destination: { host: backend-limited } }]
`;
    // One VirtualService changed each time (two for one host would be IST0109, refused at apply).
    const applied = await mesh.weft(['apply', '-f', '-'], vs);
    assert.equal(applied.code, 0, applied.stderr);
    await eventually('the client sidecar to apply the push', async () => ((await clientVersion()) !== before ? true : undefined));
    const got = versionOf(await call('http://backend:8000/'));
    assert.equal(got, next(last), `after push ${push + 1}: round robin went on from ${last}`);
    last = got;
  }
});

async function clientVersion(): Promise<string> {
  const s = JSON.parse((await mesh.weft(['status', '-o', 'json'])).stdout) as { proxies: Array<{ id: string; ackedVersion: string | null }> };
  return s.proxies.find((p) => p.id.includes('client'))?.ackedVersion ?? '';
}
