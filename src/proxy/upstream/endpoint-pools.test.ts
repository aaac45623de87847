/** A cluster's DestinationRule connection settings reach the endpoint's HTTP/1.1 pool (real sockets on loopback). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { EndpointPools } from './endpoint-pools.js';
import { httpPoolSettings } from './pool-settings.js';
import type { UpstreamTarget } from './upstream-target.js';

let server: http.Server;
let target: UpstreamTarget;
const sockets: net.Socket[] = [];
/** Requests each connection carried. */
const served = new Map<net.Socket, number>();
const pools = new EndpointPools(undefined);

before(async () => {
  server = http.createServer((req, res) => {
    served.set(req.socket, (served.get(req.socket) ?? 0) + 1);
    res.end('ok');
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: net.Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = { address: '127.0.0.1', port: (server.address() as AddressInfo).port };
});

after(async () => {
  await pools.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function requests(settings: ReturnType<typeof httpPoolSettings>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    // As connect-upstream.ts dispatches: 1 request per connection is a reset per request.
    const res = await pools.get(target, settings).request({ path: '/', method: 'GET', reset: settings.maxRequestsPerConnection === 1 });
    assert.equal(await res.body.text(), 'ok');
  }
}

const policy = { connectTimeoutMs: 10_000, httpIdleTimeoutMs: 3_600_000, maxRequestsPerConnection: 0, maxConnectionDurationMs: 0, tcpKeepalive: null, maxConcurrentStreams: 0 };

test('maxRequestsPerConnection: 1 carries one request per connection; unset reuses connections', async () => {
  const before = sockets.length;
  await requests(httpPoolSettings(policy), 4);
  assert.ok(sockets.slice(before).some((s) => (served.get(s) ?? 0) > 1));
  const start = sockets.length;
  await requests(httpPoolSettings({ ...policy, maxRequestsPerConnection: 1 }), 3);
  assert.deepEqual(sockets.slice(start).map((s) => served.get(s)), [1, 1, 1]);
  const next = sockets.length;
  await requests(httpPoolSettings({ ...policy, maxRequestsPerConnection: 2 }), 4);
  assert.deepEqual(sockets.slice(next).map((s) => served.get(s)), [2, 2]);
});

test('clusters with different settings get different pools of one endpoint; equal settings share one', () => {
  const a = httpPoolSettings(policy);
  assert.equal(pools.get(target, a), pools.get(target, httpPoolSettings({ ...policy })));
  assert.notEqual(pools.get(target, a), pools.get(target, httpPoolSettings({ ...policy, maxRequestsPerConnection: 7 })));
});

test('http idleTimeout closes an idle connection; the upstream sees it go', async () => {
  const idle = httpPoolSettings({ ...policy, httpIdleTimeoutMs: 50 });
  const start = sockets.length;
  await requests(idle, 1);
  const socket = sockets[start]!;
  // Bounded: the pool closes it after 50 ms idle; the test's own timeout stands if it never does.
  if (!socket.destroyed) await once(socket, 'close');
  assert.equal(socket.destroyed, true);
});

test('settings: Istio defaults kept within the destination keep-alive; 0 means the fixed defaults', () => {
  assert.equal(httpPoolSettings(policy).idleTimeoutMs, 30_000);
  assert.equal(httpPoolSettings({ ...policy, httpIdleTimeoutMs: 2_000 }).idleTimeoutMs, 2_000);
  assert.equal(httpPoolSettings({ ...policy, connectTimeoutMs: 250 }).connectTimeoutMs, 250);
  assert.equal(httpPoolSettings({ ...policy, connectTimeoutMs: 0 }).connectTimeoutMs, 5_000);
  assert.equal(httpPoolSettings(policy).maxConcurrentStreams, 2_147_483_647);
  assert.equal(httpPoolSettings({ ...policy, maxConcurrentStreams: 8 }).maxConcurrentStreams, 8);
});

test('maxConnectionDuration: a connection past it takes no new request and closes; a younger one is reused', async (t) => {
  // undici ages its connections on the wall clock: the test moves Date, not timers.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
  const aged = httpPoolSettings({ ...policy, maxConnectionDurationMs: 1_000 });
  const start = sockets.length;
  await requests(aged, 4);
  const young = sockets.slice(start);
  assert.ok(young.some((s) => (served.get(s) ?? 0) > 1), 'within the duration connections are reused');
  const counts = young.map((s) => served.get(s));
  t.mock.timers.tick(1_500);
  await requests(aged, 4);
  assert.deepEqual(young.map((s) => served.get(s)), counts, 'past it, no request goes on an old connection');
  assert.ok(sockets.length > start + young.length);
  for (const s of young) if (!s.destroyed) await once(s, 'close');
});

/** The keep-alive timer `ss` shows on the client's socket to the test server, in seconds; undefined without one. */
function keepAliveTimerSeconds(localPort: number): number | undefined {
  const out = execFileSync('ss', ['-tno', 'state', 'established', `( sport = :${localPort} )`], { encoding: 'utf8' });
  const m = /timer:\(keepalive,(?:(\d+)min)?(\d+(?:\.\d+)?)(ms|sec)/.exec(out);
  if (m === null) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
}

test('tcpKeepalive: SO_KEEPALIVE with the rule\'s time before the first probe', async () => {
  const keep = httpPoolSettings({ ...policy, tcpKeepalive: { timeMs: 7_000 } });
  const start = sockets.length;
  await requests(keep, 1);
  const seconds = keepAliveTimerSeconds(sockets[start]!.remotePort!);
  assert.ok(seconds !== undefined && seconds <= 7, `keepalive timer ${seconds} s`);
  const plain = httpPoolSettings({ ...policy, maxRequestsPerConnection: 3 });
  const next = sockets.length;
  await requests(plain, 1);
  // Without the rule, undici's own default: 60 s.
  assert.ok((keepAliveTimerSeconds(sockets[next]!.remotePort!) ?? 0) > 7);
});
