/**
 * What a wire observer on the mesh's bridge sees while pods talk (`weft up --isolation=netns`): sleep POSTs a
 * random marker to httpbin, which echoes it; redis-client SETs it in redis and GETs it back. Both apps speak
 * plaintext to their own sidecars, which are captured; between pods only TLS may cross: the marker must be absent
 * from every TCP stream on the bridge, and TLS ClientHellos must open the streams between those pods.
 * A control marker sent in plaintext across the same bridge (bypassing capture as the sidecar's uid) must be seen,
 * and so must the marker once PeerAuthentication turns mTLS off for httpbin: a capture that sees nothing cannot
 * pass for an encrypted wire.
 * Root, `ip netns`, iptables, tcpdump, curl and the Redis tools are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest, podNames } from '../src/mesh/netns/pod-names.js';
import { SIDECAR_UID } from '../src/mesh/netns/capture-rules.js';
import { applyAndSync } from './support/config-sync.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, podTestSkipReason } from './support/netns-traces.js';
import { clientHelloStreams, describeStream, startCapture, streamsContaining } from './support/pcap.js';
import type { PacketCapture, TcpStream } from './support/pcap.js';
import { cleanup } from './support/cleanup.js';

const skip = await podTestSkipReason(['iptables', 'setpriv', 'curl', 'tcpdump', 'redis-server', 'redis-cli']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-wire-'));
const digest = meshDigest(stateDir);
const pcapDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-wire-pcap-'));
let mesh: MeshRun | undefined;
let capture: PacketCapture | undefined;

cleanup('pods-wire', async () => {
  await capture?.stop().catch(() => undefined);
  await mesh?.stop('SIGTERM');
  if (!skip) await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
  fs.rmSync(pcapDir, { recursive: true, force: true });
});

/** Without http_proxy: the app's own connection, captured in its pod. */
const direct = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY'];
const asSidecarUid = ['setpriv', `--reuid=${SIDECAR_UID}`, `--regid=${SIDECAR_UID}`, '--clear-groups'];

const DISABLE_HTTPBIN = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: httpbin-plaintext, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: DISABLE }
`;

function between(streams: readonly TcpStream[], a: string, b: string): TcpStream[] {
  return streams.filter((s) => (s.src === a && s.dst === b) || (s.src === b && s.dst === a));
}

test('on the bridge between pods: only TLS, never the payload', { skip, timeout: 150_000 }, async (t) => {
  mesh = await startMesh(['examples/httpbin', 'examples/redis'], { stateDir, isolation: 'netns' });
  const m = mesh;
  const bridge = podNames(stateDir).bridge;
  const marker = `wire-${randomBytes(16).toString('hex')}`;
  const control = `control-${randomBytes(16).toString('hex')}`;
  const ip = (name: string): string => m.workload(name).podIP;

  capture = await startCapture(bridge, path.join(pcapDir, 'bridge.pcap'));

  const http = await m.weft(['exec', 'sleep', '--', ...direct, 'curl', '-sS', '-m', '10', '-H', 'content-type: text/plain', '--data-binary', marker, 'http://httpbin:8000/anything']);
  const set = await m.weft(['exec', 'redis-client', '--', 'timeout', '20', 'redis-cli', '-h', 'redis', 'SET', 'wire-key', marker]);
  const get = await m.weft(['exec', 'redis-client', '--', 'timeout', '20', 'redis-cli', '-h', 'redis', 'GET', 'wire-key']);
  // Plaintext on the same bridge, uncaptured as the sidecar's uid: httpbin's pod refuses it, but it crosses the wire.
  const plain = await m.weft(['exec', 'sleep', '--', ...direct, ...asSidecarUid, 'curl', '-sS', '-m', '5', '--data-binary', control, `http://${ip('httpbin')}:8080/anything`]);
  const streams = await capture.stop();
  capture = undefined;

  await t.test('the marker went through: httpbin echoed it, redis returned it', () => {
    assert.equal(http.code, 0, http.stderr);
    assert.equal((JSON.parse(http.stdout) as { data: string }).data, marker, http.stdout);
    assert.equal(set.stdout.trim(), 'OK', `${set.stdout} ${set.stderr}`);
    assert.equal(get.stdout.trim(), marker, `${get.stdout} ${get.stderr}`);
  });

  await t.test('the capture sees plaintext where there is some (the control marker)', () => {
    assert.ok(streams.length > 0, 'tcpdump captured no TCP payload at all on the bridge');
    assert.ok(streamsContaining(streams, Buffer.from(control)).length > 0, `control marker not seen in ${streams.length} streams (curl: ${plain.code} ${plain.stderr})`);
  });

  await t.test('the marker never crossed the bridge in the clear', () => {
    const leaked = streamsContaining(streams, Buffer.from(marker));
    assert.deepEqual(leaked.map(describeStream), []);
  });

  await t.test('TLS ClientHellos open the streams sleep → httpbin and redis-client → redis', () => {
    const hellos = clientHelloStreams(streams);
    for (const [from, to] of [
      ['sleep', 'httpbin'],
      ['redis-client', 'redis'],
    ] as const) {
      const pair = between(streams, ip(from), ip(to));
      assert.ok(pair.length > 0, `no TCP payload between ${from} (${ip(from)}) and ${to} (${ip(to)})`);
      const opened = hellos.filter((s) => s.src === ip(from) && s.dst === ip(to));
      assert.ok(opened.length > 0, `no ClientHello from ${from} to ${to}; streams: ${pair.map(describeStream).join(', ')}`);
    }
  });

  await t.test('with mTLS turned off for httpbin (PeerAuthentication DISABLE) the same observer sees the marker', async () => {
    await applyAndSync(m, 'apply', { yaml: DISABLE_HTTPBIN }, ['sleep', 'httpbin']);
    const clear = `clear-${randomBytes(16).toString('hex')}`;
    capture = await startCapture(bridge, path.join(pcapDir, 'disabled.pcap'));
    const r = await m.weft(['exec', 'sleep', '--', ...direct, 'curl', '-sS', '-m', '10', '-H', 'content-type: text/plain', '--data-binary', clear, 'http://httpbin:8000/anything']);
    const seen = await capture.stop();
    capture = undefined;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(clear), r.stdout);
    const carried = streamsContaining(between(seen, ip('sleep'), ip('httpbin')), Buffer.from(clear));
    assert.ok(carried.length > 0, `plaintext sleep → httpbin not seen: ${between(seen, ip('sleep'), ip('httpbin')).map(describeStream).join(', ')}`);
  });

  await t.test('a stop leaves nothing of the mesh behind', async () => {
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
