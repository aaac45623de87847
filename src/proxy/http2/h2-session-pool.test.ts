/**
 * A cluster's DestinationRule connection settings reach its HTTP/2 upstream sessions, as Envoy applies them to an
 * HTTP/2 cluster: `maxRequestsPerConnection` (streams a session carries before it drains), `maxConnectionDuration`
 * (a session that old takes no new stream, on the injected clock), `maxConcurrentStreams` (streams open at once on
 * one session, below the peer's SETTINGS) and `tcpKeepalive`; clusters and ServiceEntry hosts with different
 * settings never share a session. Real sessions to a node:http2 server on loopback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { httpPoolSettings } from '../upstream/pool-settings.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
import { ManualClock } from '../request/manual-clock.fixture.js';
import { H2SessionPools } from './h2-session-pool.js';
import type { H2EndpointPool, PooledSession } from './h2-session-pool.js';
import { callThroughPool } from './h2-pool-call.fixture.js';

let server: http2.Http2Server;
let target: UpstreamTarget;
const sessions: http2.ServerHttp2Session[] = [];
/** Streams each server session carried. */
const served = new Map<http2.Http2Session, number>();

before(async () => {
  server = http2.createServer();
  server.on('session', (s) => sessions.push(s));
  server.on('stream', (stream) => {
    served.set(stream.session!, (served.get(stream.session!) ?? 0) + 1);
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  target = { address: '127.0.0.1', port: (server.address() as AddressInfo).port };
});

after(async () => {
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

const policy = { connectTimeoutMs: 5_000, httpIdleTimeoutMs: 3_600_000, maxRequestsPerConnection: 0, maxConnectionDurationMs: 0, tcpKeepalive: null, maxConcurrentStreams: 0 };

const call = callThroughPool;

test('maxRequestsPerConnection: a session carries that many streams, then drains and closes', async () => {
  const pools = new H2SessionPools(undefined);
  const pool = pools.get(target, httpPoolSettings({ ...policy, maxRequestsPerConnection: 2 }));
  const start = sessions.length;
  for (let i = 0; i < 6; i++) await call(pool);
  assert.deepEqual(sessions.slice(start).map((s) => served.get(s)), [2, 2, 2]);
  assert.equal(pool.sessionCount, 0, 'every full session left the pool');
});

test('maxConnectionDuration: a session that old takes no new stream; a younger one is reused', async () => {
  const clock = new ManualClock();
  const pools = new H2SessionPools(undefined, clock);
  const pool = pools.get(target, httpPoolSettings({ ...policy, maxConnectionDurationMs: 1_000 }));
  const start = sessions.length;
  const first = await call(pool);
  assert.equal(await call(pool), first, 'within the duration the session is reused');
  clock.advance(1_500);
  assert.notEqual(await call(pool), first, 'past it, a new session');
  assert.deepEqual(sessions.slice(start).map((s) => served.get(s)), [2, 1]);
});

/** Streams started together, each released only once all were granted: the sessions they were granted on. */
async function together(pool: H2EndpointPool, count: number): Promise<PooledSession[]> {
  const granted: PooledSession[] = [];
  await new Promise<void>((resolve, reject) => {
    for (let i = 0; i < count; i++) {
      pool.acquire({
        cancelled: false,
        failed: reject,
        granted(s) {
          granted.push(s);
          if (granted.length === count) resolve();
        },
      });
    }
  });
  for (const s of granted) s.release();
  return granted;
}

test('maxConcurrentStreams: streams past the limit on one session open another (Envoy: "may establish additional connections")', async () => {
  const pools = new H2SessionPools(undefined);
  const limited = await together(pools.get(target, httpPoolSettings({ ...policy, maxConcurrentStreams: 2 })), 4);
  assert.equal(new Set(limited).size, 2, 'two sessions of two streams each');
  const unlimited = await together(pools.get(target, httpPoolSettings(policy)), 4);
  assert.equal(new Set(unlimited).size, 1, '0 (Istio: 2^31-1): the peer\'s SETTINGS decide');
  for (const s of [...limited, ...unlimited]) s.session?.close();
});

test('a ServiceEntry host takes its DestinationRule settings too; hosts with other settings get other sessions', () => {
  const pools = new H2SessionPools(undefined);
  const a = httpPoolSettings({ ...policy, maxRequestsPerConnection: 3 });
  const pool = pools.external(target, undefined, a);
  assert.equal(pool.settings, a);
  assert.equal(pools.external(target, undefined, httpPoolSettings({ ...policy, maxRequestsPerConnection: 3 })), pool);
  assert.notEqual(pools.external(target, undefined), pool);
});

test('clusters with different settings get different sessions to one endpoint; equal settings share one', () => {
  const pools = new H2SessionPools(undefined);
  const a = httpPoolSettings(policy);
  assert.equal(pools.get(target, a), pools.get(target, httpPoolSettings({ ...policy })));
  assert.notEqual(pools.get(target, a), pools.get(target, httpPoolSettings({ ...policy, maxRequestsPerConnection: 7 })));
});

/** A TCP relay to the server that can stop passing bytes (a peer or path gone silent without closing). */
async function freezableRelay(): Promise<{ target: UpstreamTarget; freeze(): void; close(): void }> {
  let frozen = false;
  const sockets: net.Socket[] = [];
  const relay = net.createServer((down) => {
    const up = net.connect(target.port, target.address);
    sockets.push(down, up);
    down.on('data', (b) => frozen || up.write(b));
    up.on('data', (b) => frozen || down.write(b));
    for (const s of [down, up]) s.on('error', () => undefined).on('close', () => (down.destroy(), up.destroy()));
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    target: { address: '127.0.0.1', port: (relay.address() as AddressInfo).port },
    freeze: () => (frozen = true),
    close: () => {
      for (const s of sockets) s.destroy();
      relay.close();
    },
  };
}

test('http2KeepAlive: a PING every interval keeps an answering session; an unanswered one closes it', async () => {
  const clock = new ManualClock();
  const relay = await freezableRelay();
  try {
    const pools = new H2SessionPools(undefined, clock);
    const pool = pools.get(relay.target, httpPoolSettings({ ...policy, http2KeepAlive: { intervalMs: 1_000, timeoutMs: 500 } }));
    const s = await call(pool);
    const pinged = new Promise((r) => sessions.at(-1)!.once('ping', r));
    clock.advance(1_000);
    await pinged;
    // PINGs are answered in order: once a PING of the test's own is answered, the pool's was too.
    await new Promise((r) => s.session!.ping(r));
    clock.advance(500);
    assert.equal(s.session!.destroyed, false, 'an answered PING keeps the session');
    relay.freeze();
    clock.advance(500);
    assert.equal(s.session!.destroyed, false, 'within the timeout');
    clock.advance(500);
    assert.equal(s.session!.destroyed, true, 'an unanswered PING closes the session');
  } finally {
    relay.close();
  }
});

test('without http2KeepAlive no PING is sent', async () => {
  const clock = new ManualClock();
  const pools = new H2SessionPools(undefined, clock);
  const s = await call(pools.get(target, httpPoolSettings({ ...policy, maxRequestsPerConnection: 5 })));
  assert.equal(clock.pending, 0, 'no timer armed');
  s.session!.close();
});

test("tcpKeepalive: SO_KEEPALIVE with the rule's time before the first probe", async () => {
  const pools = new H2SessionPools(undefined);
  const s = await call(pools.get(target, httpPoolSettings({ ...policy, tcpKeepalive: { timeMs: 7_000 } })));
  const local = (s.session!.socket as net.Socket).localPort!;
  const out = execFileSync('ss', ['-tno', 'state', 'established', `( sport = :${local} )`], { encoding: 'utf8' });
  const m = /timer:\(keepalive,(\d+(?:\.\d+)?)(ms|sec)/.exec(out);
  assert.ok(m !== null, out);
  assert.ok(Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) <= 7);
  s.session!.close();
});

test("before the peer's SETTINGS a new session carries one stream; the rest wait for its limit or go to another session", async () => {
  // A peer that reads the client's frames and sends its SETTINGS (at most 2 streams) only when told.
  const headersSeen: number[] = [];
  const peers: net.Socket[] = [];
  const slow = net.createServer((socket) => {
    const at = headersSeen.push(0) - 1;
    peers.push(socket);
    let buf = Buffer.alloc(0);
    let prefaceRead = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!prefaceRead && buf.length >= 24) {
        buf = buf.subarray(24);
        prefaceRead = true;
      }
      while (prefaceRead && buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        if (buf[3] === 1) headersSeen[at] = (headersSeen[at] ?? 0) + 1;
        buf = buf.subarray(9 + length);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const pools = new H2SessionPools(undefined);
  const pool = pools.get({ address: '127.0.0.1', port: (slow.address() as AddressInfo).port }, httpPoolSettings(policy));
  try {
    const granted: PooledSession[] = [];
    for (let i = 0; i < 3; i++) {
      pool.acquire({
        cancelled: false,
        failed: () => undefined,
        granted(s) {
          granted.push(s);
          s.session!.request({ ':path': '/', ':method': 'POST' }).on('error', () => undefined);
        },
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(headersSeen.length > 0 && headersSeen.every((n) => n <= 1), `streams per connection before SETTINGS: ${JSON.stringify(headersSeen)}`);
    assert.equal(granted.length, headersSeen.length, 'one stream granted on each session so far');
  } finally {
    pool.close();
    for (const s of peers) s.destroy();
    await new Promise((r) => slow.close(r));
  }
});


test('a push closes the sessions of endpoints no cluster lists any more; an endpoint another cluster lists keeps its own', async () => {
  const pools = new H2SessionPools(undefined);
  const settings = httpPoolSettings(policy);
  // Two clusters list the endpoint (a subset shares it); one is removed, then the other.
  pools.retain([target, target], []);
  const pool = pools.get(target, settings);
  const start = sessions.length;
  await call(pool);
  const session = sessions[start]!;
  pools.retain([], [target]);
  assert.equal(pools.get(target, settings), pool, 'still listed by one cluster: the same sessions');
  pools.retain([], [target]);
  assert.equal(pools.endpointCount, 0, 'listed by none: the endpoint is gone from the pools');
  await new Promise<void>((resolve) => (session.closed ? resolve() : session.once('close', () => resolve())));
  assert.notEqual(pools.get(target, settings), pool, 'a request after it opens a new pool');
});

test('a push closes the sessions made since the last one for a target no cluster lists (a host outside the mesh)', async () => {
  const pools = new H2SessionPools(undefined);
  const pool = pools.external(target, undefined);
  const start = sessions.length;
  await call(pool);
  pools.retain([], []);
  assert.equal(pools.endpointCount, 0);
  const session = sessions[start]!;
  await new Promise<void>((resolve) => (session.closed ? resolve() : session.once('close', () => resolve())));
});
