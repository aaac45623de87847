/**
 * examples/redis in network namespaces: an unmodified redis-server behind the mesh, driven by Debian's redis-cli
 * and redis-benchmark from a client pod. Their connections are captured by the client's sidecar and arrive at
 * redis's sidecar over mTLS: its access log and metrics name the client's SPIFFE identity.
 * Root, `ip netns`, iptables and the Redis tools are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { SIDECAR_ADMIN_PORT } from '../src/mesh/netns/capture-rules.js';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, podTestSkipReason } from './support/netns-traces.js';
import { applyAndSync } from './support/config-sync.js';
import { inboundAccessLines } from './support/access-log.js';
import type { AccessLine } from './support/access-log.js';
import { cleanup } from './support/cleanup.js';

const skip = await podTestSkipReason(['iptables', 'setpriv', 'redis-server', 'redis-cli', 'redis-benchmark']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-redis-'));
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;

cleanup('pods-redis', async () => {
  await mesh?.stop('SIGTERM');
  if (!skip) await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/redis-client';
/** redis-benchmark's parallel connections; with the ping before, redis's sidecar sees at least one more. */
const BENCH_CLIENTS = 50;

/** Inbound lines of opaque TCP connections. */
function inboundTcpLines(logFile: string): AccessLine[] {
  return inboundAccessLines(logFile).filter((e) => e.method === 'TCP');
}

/** A plaintext `PING` straight to redis's pod address and app port, as a caller outside the mesh sends it. */
function plaintextPing(address: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const socket = net.connect({ host: address, port: 6379 }, () => socket.write('PING\r\n'));
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got));
  });
}

const redisPeerAuthn = (mode: 'PERMISSIVE' | 'DISABLE'): string => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: redis-mode, namespace: default }
spec:
  selector: { matchLabels: { app: redis } }
  mtls: { mode: ${mode} }
`;

/** The value of istio_tcp_connections_opened_total for connections arriving from `principal`. */
function tcpOpenedFrom(prometheusText: string, principal: string): number {
  let total = 0;
  for (const line of prometheusText.split('\n')) {
    if (!line.startsWith('istio_tcp_connections_opened_total{')) continue;
    if (!line.includes('reporter="destination"') || !line.includes(`source_principal="${principal}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('redis in the mesh: redis-cli and redis-benchmark through captured mTLS', { skip, timeout: 180_000 }, async (t) => {
  mesh = await startMesh(['examples/redis'], { stateDir, isolation: 'netns' });
  const m = mesh;
  const redisLog = path.join(stateDir, 'logs', 'default.redis.sidecar.log');

  await t.test('redis-cli -h redis ping answers PONG', async () => {
    const r = await m.weft(['exec', 'redis-client', '--', 'timeout', '20', 'redis-cli', '-h', 'redis', 'ping']);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'PONG', r.stderr);
  });

  await t.test('redis-benchmark -q -c 50 -n 2000 -t set,get completes', async () => {
    const r = await m.weft(['exec', 'redis-client', '--', 'timeout', '90', 'redis-benchmark', '-h', 'redis', '-q', '-c', String(BENCH_CLIENTS), '-n', '2000', '-t', 'set,get']);
    assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
    // -q rewrites a progress line with \r; the final line of each command ends with \n.
    const lines = r.stdout.split(/[\r\n]+/);
    for (const cmd of ['SET', 'GET']) {
      const line = lines.find((l) => l.startsWith(`${cmd}: `) && l.includes('requests per second'));
      assert.ok(line, `no "${cmd}: ... requests per second" line in: ${r.stdout}`);
      const rps = Number(/^\w+: ([\d.]+) requests per second/.exec(line)?.[1]);
      assert.ok(rps > 0, line);
      t.diagnostic(line.trim());
    }
  });

  await t.test("redis's sidecar logged the connections as TCP from the client's SPIFFE identity", async () => {
    // Lines are written when a connection ends, off the request path: wait for them.
    // Each of the benchmark's connections and the ping's is its own captured connection and its own tunnel.
    const lines = await eventually(`${BENCH_CLIENTS + 1} inbound TCP access lines in the redis sidecar log`, () => {
      const found = inboundTcpLines(redisLog);
      return found.length >= BENCH_CLIENTS + 1 ? found : undefined;
    });
    const peers = new Set(lines.map((l) => l.peer));
    assert.deepEqual([...peers], [CLIENT_ID], `peers seen by redis's sidecar: ${[...peers].join(', ')}`);
    t.diagnostic(`${lines.length} inbound TCP connections logged`);
  });

  await t.test("redis's sidecar metrics count TCP connections from the client's identity", async () => {
    const redis = m.workload('redis');
    const res = await fetch(`http://${redis.podIP}:${SIDECAR_ADMIN_PORT}/stats/prometheus`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 200);
    const text = await res.text();
    const opened = tcpOpenedFrom(text, CLIENT_ID);
    assert.ok(opened >= BENCH_CLIENTS + 1, `istio_tcp_connections_opened_total from ${CLIENT_ID}: ${opened}\n${text.split('\n').filter((l) => l.startsWith('istio_tcp')).join('\n')}`);
  });

  await t.test('plaintext straight to the redis port is refused under STRICT, served as TCP under PERMISSIVE', async () => {
    const redis = m.workload('redis');
    assert.equal(await plaintextPing(redis.podIP), '', 'STRICT: the captured plaintext connection is closed');
    await applyAndSync(m, 'apply', { yaml: redisPeerAuthn('PERMISSIVE') }, ['redis']);
    assert.equal(await plaintextPing(redis.podIP), '+PONG\r\n', 'PERMISSIVE: piped to redis as opaque TCP, not parsed as HTTP');
    const plaintext = await eventually('an inbound TCP line without a peer', () => inboundTcpLines(redisLog).find((l) => l.peer === undefined));
    assert.equal(plaintext.method, 'TCP');
  });

  await t.test('under DISABLE the client sidecar carries the captured connection in plaintext', async () => {
    const before = inboundTcpLines(redisLog).filter((l) => l.peer === undefined).length;
    await applyAndSync(m, 'apply', { yaml: redisPeerAuthn('DISABLE') }, ['redis', 'redis-client']);
    const r = await m.weft(['exec', 'redis-client', '--', 'timeout', '20', 'redis-cli', '-h', 'redis', 'ping']);
    assert.equal(r.stdout.trim(), 'PONG', r.stderr);
    await eventually('one more inbound TCP line without a peer', () => (inboundTcpLines(redisLog).filter((l) => l.peer === undefined).length > before ? true : undefined));
  });

  await t.test('a stop leaves nothing of the mesh behind', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
