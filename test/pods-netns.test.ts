/**
 * `weft up --isolation=netns`: every Workload and its sidecar in a network namespace of its own, traffic between
 * pods through their sidecars, apps unreachable on the host's loopback, and nothing of the mesh left in the kernel
 * after a clean stop, or after a crash once the next `weft up` on the same state directory has started.
 * Root and `ip netns` are required; without them the test is skipped.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { meshDigest } from '../src/mesh/netns/pod-names.js';
import { LEDGER_FILE } from '../src/mesh/netns/index.js';
import { alive, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { meshTraces, removeMeshObjects, run } from './support/netns-traces.js';


async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const ip = await run('ip', ['netns', 'list']).catch((err: Error) => err);
  if (ip instanceof Error) return `ip netns is unavailable: ${ip.message}`;
  return undefined;
}

const skip = await skipReason();
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-netns-'));
const digest = meshDigest(stateDir);
const runs: MeshRun[] = [];

async function up(): Promise<MeshRun> {
  const r = await startMesh(['examples/httpbin'], { stateDir, extraArgs: ['--isolation=netns'] });
  runs.push(r);
  return r;
}


after(async () => {
  for (const r of runs) await r.stop('SIGTERM');
  if (skip) return;
  await removeMeshObjects(digest);
  fs.rmSync(stateDir, { recursive: true, force: true });
});

test('pods in network namespaces: isolation, traffic through sidecars, clean stop, cleanup after a crash', { skip, timeout: 170_000 }, async (t) => {
  let mesh = await up();

  await t.test('one namespace per workload, recorded in mesh.json and the ledger', async () => {
    const m = mesh.mesh();
    assert.equal(m.isolation, 'netns');
    const { stdout } = await run('ip', ['netns', 'list']);
    for (const w of m.workloads) {
      assert.ok(w.netns, `${w.name} has a namespace`);
      assert.ok(stdout.split('\n').some((l) => l.split(' ')[0] === w.netns), `${w.netns} in ip netns list`);
      assert.match(w.podIP, /^198\.1[89]\./);
      // The address lives inside the namespace, not on the host.
      const inPod = (await run('ip', ['-n', w.netns!, '-o', 'addr'])).stdout;
      assert.ok(inPod.includes(`${w.podIP}/`), `${w.podIP} inside ${w.netns}`);
    }
    assert.equal(new Set(m.workloads.map((w) => w.netns)).size, m.workloads.length);
    assert.ok(fs.existsSync(path.join(stateDir, LEDGER_FILE)));
  });

  await t.test('sleep reaches httpbin through the sidecars, with its identity', async () => {
    const r = await mesh.weft(['exec', 'sleep', '--', 'curl', '-s', '-m', '10', 'http://httpbin:8000/headers']);
    assert.equal(r.code, 0, r.stderr);
    const headers = (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
    assert.match(headers['X-Forwarded-Client-Cert'] ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
  });

  await t.test('weft exec runs inside the pod: it sees the pod address and not the host', async () => {
    const r = await mesh.weft(['exec', 'sleep', '--', 'ip', '-o', 'addr']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(mesh.workload('sleep').podIP));
    assert.ok(!r.stdout.includes(`weft0-${digest}`));
  });

  await t.test("the app's port is not reachable on the root namespace's 127.0.0.1", async () => {
    const res = await fetch('http://127.0.0.1:8080/headers', { signal: AbortSignal.timeout(3000) }).then(
      async (x) => x.text(),
      () => undefined,
    );
    assert.ok(res === undefined || !res.includes('"headers"'), 'httpbin answered on the host loopback');
  });

  await t.test('a clean stop removes every namespace, link and ledger entry', async () => {
    await mesh.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
    assert.equal(fs.existsSync(path.join(stateDir, LEDGER_FILE)), false);
  });

  await t.test('after SIGKILL of weft up, the next weft up removes the leftovers first', async () => {
    mesh = await up();
    const crashed = mesh.mesh();
    await mesh.stop('SIGKILL');
    assert.notDeepEqual(await meshTraces(digest), [], 'a crash leaves namespaces and links behind');
    // The control plane runs in the root namespace, outside what the pod network cleans up.
    if (crashed.control.pid) process.kill(crashed.control.pid, 'SIGKILL');
    const podPids = crashed.workloads.flatMap((w) => [w.appPid, w.proxyPid]).filter((p): p is number => typeof p === 'number');
    assert.ok(podPids.some((p) => alive(p)), 'pod processes outlive a crashed weft up');

    mesh = await up();
    await eventually('pod processes of the crashed run to be gone', () => podPids.every((p) => !alive(p)) || undefined, 5000);
    const r = await mesh.weft(['exec', 'sleep', '--', 'curl', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://httpbin:8000/status/200']);
    assert.equal(r.stdout, '200', r.stderr);
    await mesh.stop('SIGTERM');
    assert.deepEqual(await meshTraces(digest), []);
  });
});
