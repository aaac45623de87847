/**
 * Transparent capture in `weft up --isolation=netns`: an app that knows nothing of the mesh (no http_proxy) calls
 * a service by name through the standard resolver and its sidecar carries the call over mTLS with its identity;
 * a plaintext caller that bypasses its own sidecar is refused at a STRICT pod; the app runs under an identity of its
 * own, without capabilities, and cannot undo its capture or read the mesh's secrets; a stop leaves nothing behind.
 * Root and `ip netns` are required; without them the test is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { SIDECAR_UID } from '../src/mesh/netns/capture-rules.js';
import { appIdentity, asIdentity, podAppIdentity, probePrivilegeDrop } from '../src/mesh/netns/pod-identity.js';
import { startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, run, podTestSkipReason } from './support/netns-traces.js';
import { cleanup } from './support/cleanup.js';


const skip = await podTestSkipReason(['iptables', 'setpriv', 'curl', 'getent']);
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-capture-'));
const digest = meshDigest(stateDir);
let mesh: MeshRun | undefined;

/** Without http_proxy: the app's own connection, as an app unaware of the mesh makes it. */
const direct = ['env', '-u', 'http_proxy', '-u', 'HTTP_PROXY', '-u', 'https_proxy', '-u', 'HTTPS_PROXY'];
const asSidecarUid = ['setpriv', `--reuid=${SIDECAR_UID}`, `--regid=${SIDECAR_UID}`, '--clear-groups'];


/** Process facts from /proc/<pid>/status, as "Name: value". */
function procStatus(pid: number): Map<string, string> {
  const lines = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n');
  return new Map(lines.map((l) => l.split(':\t') as [string, string]).filter((kv) => kv.length === 2).map(([k, v]) => [k, v.trim()]));
}

/** `argv` in the pod, wrapped exactly as the runtime wraps a Workload without a securityContext. */
async function asApp(pod: { netns?: string; podIP: string }, argv: [string, ...string[]]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { command, args } = asIdentity(await probePrivilegeDrop(), appIdentity(undefined, podAppIdentity(pod.podIP)), argv[0], argv.slice(1));
  return run('ip', ['netns', 'exec', pod.netns!, command, ...args]).then(
    (r) => ({ code: 0, ...r }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
}

cleanup('pods-capture', async () => {
  await mesh?.stop('SIGTERM');
  if (skip) return;
  await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('transparent capture in network namespaces', { skip, timeout: 120_000 }, async (t) => {
  mesh = await startMesh(['examples/httpbin'], { stateDir, extraArgs: ['--isolation=netns'] });
  const m = mesh;

  await t.test('service names resolve with the standard resolver inside a pod', async () => {
    const r = await m.weft(['exec', 'sleep', '--', 'getent', 'hosts', 'httpbin']);
    assert.equal(r.code, 0, r.stderr);
    const [address, ...names] = r.stdout.trim().split(/\s+/);
    assert.match(address ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.ok(names.includes('httpbin.default.svc.cluster.local'), r.stdout);
    const fq = await m.weft(['exec', 'sleep', '--', 'getent', 'hosts', 'httpbin.default.svc.cluster.local']);
    assert.equal(fq.stdout.trim().split(/\s+/)[0], address);
  });

  await t.test('an app without http_proxy reaches httpbin through its sidecar, with its identity', async () => {
    const r = await m.weft(['exec', 'sleep', '--', ...direct, 'curl', '-sS', '-m', '10', 'http://httpbin:8000/headers']);
    assert.equal(r.code, 0, r.stderr);
    const headers = (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
    assert.match(headers['X-Forwarded-Client-Cert'] ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
  });

  await t.test('the captured call is routed by Host, the port taken from where the app dialled', async () => {
    const httpbinVip = (await m.weft(['exec', 'sleep', '--', 'getent', 'hosts', 'httpbin'])).stdout.trim().split(/\s+/)[0]!;
    const r = await m.weft(['exec', 'sleep', '--', ...direct, 'curl', '-sS', '-m', '10', '-H', 'Host: httpbin.default', `http://${httpbinVip}:8000/headers`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"X-Forwarded-Client-Cert"/);
  });

  await t.test('plaintext straight to the app port, bypassing the caller’s sidecar, is refused under STRICT', async () => {
    const httpbin = m.workload('httpbin');
    // As the sidecar's uid the call leaves sleep's pod uncaptured; httpbin's pod must still send it to its sidecar.
    const r = await m.weft(['exec', 'sleep', '--', ...direct, ...asSidecarUid, 'curl', '-sS', '-m', '10', `http://${httpbin.podIP}:8080/headers`]);
    assert.notEqual(r.code, 0, `plaintext reached the app: ${r.stdout}`);
    assert.doesNotMatch(r.stdout, /"headers"/);
  });

  await t.test('each app runs under its own identity: not root, not the sidecar, no capabilities, no way back', () => {
    const uids = new Set<string>();
    for (const w of m.mesh().workloads) {
      assert.ok(w.appPid, `${w.name} has a pid`);
      const status = procStatus(w.appPid);
      const [uid] = (status.get('Uid') ?? '').split(/\s+/);
      const appUid = podAppIdentity(w.podIP).uid;
      uids.add(uid ?? '');
      assert.equal(uid, String(appUid), `${w.name}: ${status.get('Uid')}`);
      assert.notEqual(uid, '0');
      assert.notEqual(uid, String(SIDECAR_UID));
      assert.match(status.get('Uid') ?? '', new RegExp(`^${appUid}\\s+${appUid}\\s+${appUid}\\s+${appUid}$`), 'real, effective, saved and fs uid');
      for (const caps of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(status.get(caps), '0000000000000000', `${w.name} ${caps}`);
      assert.equal(status.get('NoNewPrivs'), '1', w.name);
      assert.equal(status.get('Groups'), '', `${w.name} has no supplementary groups`);
    }
    assert.equal(uids.size, m.mesh().workloads.length, 'no two pods share an app uid');
  });

  await t.test('as the app, flushing the pod’s nat rules, becoming the sidecar or reading the state directory fails', async () => {
    const sleep = m.workload('sleep');
    const netns = sleep.netns!;
    const rulesBefore = (await run('ip', ['netns', 'exec', netns, 'iptables-save', '-t', 'nat'])).stdout;
    assert.match(rulesBefore, /-A OUTPUT -p tcp -j WEFT_OUTPUT/);
    const whoami = await asApp(sleep, ['id', '-u']);
    assert.equal(whoami.stdout.trim(), String(podAppIdentity(sleep.podIP).uid), whoami.stderr);
    const flush = await asApp(sleep, ['iptables', '-t', 'nat', '-F']);
    assert.notEqual(flush.code, 0, 'the app flushed its capture rules');
    const rulesAfter = (await run('ip', ['netns', 'exec', netns, 'iptables-save', '-t', 'nat'])).stdout;
    assert.match(rulesAfter, /-A OUTPUT -p tcp -j WEFT_OUTPUT/, 'capture rules intact');
    const sidecar = await asApp(sleep, ['setpriv', `--reuid=${SIDECAR_UID}`, 'id', '-u']);
    assert.notEqual(sidecar.code, 0, `the app became uid ${sidecar.stdout.trim()}`);
    const secret = await asApp(sleep, ['cat', path.join(stateDir, 'admin.credential')]);
    assert.notEqual(secret.code, 0, 'the app read the admin credential');
    // The sidecar's environment holds its bootstrap token.
    const environ = await asApp(sleep, ['cat', `/proc/${m.workload('sleep').proxyPid}/environ`]);
    assert.notEqual(environ.code, 0, 'the app read its sidecar’s environment');
    // Another pod's app is another uid: its environment (and ptrace) is out of reach too.
    const neighbour = await asApp(sleep, ['cat', `/proc/${m.workload('httpbin').appPid}/environ`]);
    assert.notEqual(neighbour.code, 0, 'the app read another pod’s app environment');
  });

  await t.test('the app’s own traffic is still captured after its attempts', async () => {
    const r = await m.weft(['exec', 'sleep', '--', ...direct, 'curl', '-sS', '-m', '10', 'http://httpbin:8000/headers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"X-Forwarded-Client-Cert"/);
  });

  await t.test('a stop leaves no namespace, link or /etc/netns directory', async () => {
    const before = await meshTraces(digest);
    assert.ok(before.some((x) => x.startsWith('/etc/netns/')), `hosts directories exist while running: ${before.join(', ')}`);
    await m.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
