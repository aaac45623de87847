/**
 * Lifecycle of a mesh: the control plane starts with its allocator settings; a workload that dies is restarted with backoff and reported; the CA can run as an
 * intermediate under an operator's root, whose root then is the whole trust bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { alive, callAs, eventually, startMesh } from './support/mesh-process.js';
import { CONTROL_PLANE_MALLOC_ENV, missingAllocatorSettings } from '../src/control/allocator-settings.js';

/** The control plane process was started with every allocator setting, each with the value `weft up` gives. */
function assertAllocatorSettings(pid: number | null): void {
  const env = Object.fromEntries(
    fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter((e) => e.includes('=')).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  for (const [k, v] of Object.entries(CONTROL_PLANE_MALLOC_ENV)) assert.equal(env[k], v, `control plane started without ${k}=${v}`);
  assert.deepEqual(missingAllocatorSettings(env), []);
}

test('a workload that exits is restarted with backoff, reported, and served again', async () => {
  const mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  try {
    // glibc and V8 read their settings only at start: `weft up` gives them to the control plane it starts.
    assertAllocatorSettings(mesh.mesh().control.pid);
    const before = mesh.workload('httpbin');
    assert.ok(alive(before.appPid));
    process.kill(before.appPid!, 'SIGKILL');
    await eventually('restart reported', () => (/workload default\/httpbin exited \(SIGKILL\); restart 1 with backoff/.test(mesh.output()) ? true : undefined));
    const after = await eventually('httpbin running again', () => {
      const w = mesh.workload('httpbin');
      return w.appPid !== before.appPid && alive(w.appPid) ? w : undefined;
    });
    assert.equal(after.restarts, 1);
    const res = await eventually('served again', async () => {
      const r = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/get');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(res.status, 200);
    const got = await mesh.weft(['get', 'workload', 'httpbin']);
    assert.match(got.stdout, /httpbin\s+Running\s+1\s/);
  } finally {
    await mesh.stop();
    fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  }
});

test('the CA runs as an intermediate under a given root, and the bundle is that root', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ca-'));
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('root.key'));
  openssl('req', '-x509', '-new', '-key', file('root.key'), '-subj', '/O=Example Corp/CN=Example Root CA', '-days', '30', '-out', file('root.pem'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('int.key'));
  openssl('req', '-new', '-key', file('int.key'), '-subj', '/O=Example Corp/CN=weft intermediate', '-out', file('int.csr'));
  fs.writeFileSync(file('ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl('x509', '-req', '-in', file('int.csr'), '-CA', file('root.pem'), '-CAkey', file('root.key'), '-CAcreateserial', '-days', '20',
    '-extfile', file('ext.cnf'), '-out', file('int.pem'));
  const mesh = await startMesh(['examples/httpbin'], {
    isolation: 'none',
    extraArgs: ['--ca-cert', file('int.pem'), '--ca-key', file('int.key'), '--ca-chain', file('root.pem')],
  });
  try {
    const bundle = fs.readFileSync(path.join(mesh.stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
    assert.equal(new X509Certificate(bundle).fingerprint256, new X509Certificate(fs.readFileSync(file('root.pem'))).fingerprint256);
    const res = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/headers');
    assert.equal(res.status, 200);
    assert.match(res.body, /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
    // What httpbin's sidecar presents chains leaf → intermediate → the given root.
    // s_client has no client certificate, so the sidecar ends the handshake: its exit status is not the point.
    const chain = spawnSync('openssl', ['s_client', '-connect', mesh.workload('httpbin').inbound, '-showcerts', '-servername',
      'outbound_.8000_._.httpbin.default.svc.cluster.local'], { input: '', encoding: 'utf8' }).stdout;
    assert.match(chain, /i:O ?= ?Example Corp, CN ?= ?weft intermediate/);
    assert.match(chain, /i:O ?= ?Example Corp, CN ?= ?Example Root CA/);
  } finally {
    await mesh.stop();
    fs.rmSync(mesh.stateDir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('after weft up is killed outright, its proxies and control plane exit, and the next start stops the rest', async () => {
  const first = await startMesh(['examples/httpbin'], { isolation: 'none' });
  const stateDir = first.stateDir;
  try {
    const m = first.mesh();
    const proxies = [m.control.pid, ...m.workloads.map((w) => w.proxyPid)].filter((p): p is number => typeof p === 'number');
    const apps = m.workloads.map((w) => w.appPid).filter((p): p is number => typeof p === 'number');
    await first.stop('SIGKILL');
    await eventually('proxies and control plane gone on their own', () => (proxies.every((p) => !alive(p)) ? true : undefined), 10_000);
    // Apps are the user's programs and know nothing of weft: they are still there, holding their ports.
    assert.ok(apps.some((p) => alive(p)), 'apps outlive a killed weft up');
    const second = await startMesh(['examples/httpbin'], { stateDir, isolation: 'none' });
    try {
      assert.match(second.output(), /stopped \d+ processes left running by a previous weft up/);
      assert.ok(apps.every((p) => !alive(p)), 'the leftover apps were stopped');
      assert.equal((await callAs(second.workload('sleep'), 'http://httpbin:8000/get')).status, 200);
      const refused = await startMesh(['examples/httpbin'], { stateDir, isolation: 'none' }).then(
        async (third) => {
          await third.stop();
          return false;
        },
        (err: Error) => /already running/.test(err.message),
      );
      assert.ok(refused, 'a second weft up on a running state directory is refused');
      assert.equal((await callAs(second.workload('sleep'), 'http://httpbin:8000/get')).status, 200, 'and the running mesh is untouched');
    } finally {
      await second.stop();
    }
  } finally {
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a sidecar that is killed is restarted, and its new pid and the restart are reported', async () => {
  const mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  try {
    // glibc and V8 read their settings only at start: `weft up` gives them to the control plane it starts.
    assertAllocatorSettings(mesh.mesh().control.pid);
    const before = mesh.workload('httpbin');
    assert.ok(alive(before.proxyPid));
    process.kill(before.proxyPid!, 'SIGKILL');
    await eventually('restart reported', () => (/sidecar of default\/httpbin exited \(SIGKILL\); restart 1 with backoff/.test(mesh.output()) ? true : undefined));
    const after = await eventually('the new sidecar in mesh.json', () => {
      const w = mesh.workload('httpbin');
      return w.proxyPid !== null && w.proxyPid !== before.proxyPid && alive(w.proxyPid) ? w : undefined;
    });
    assert.deepEqual({ restarts: after.restarts, appRestarts: after.appRestarts, proxyRestarts: after.proxyRestarts, appPid: after.appPid }, {
      restarts: 1,
      appRestarts: 0,
      proxyRestarts: 1,
      appPid: before.appPid,
    });
    const res = await eventually('served again', async () => {
      const r = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/get');
      return r.status === 200 ? r : undefined;
    });
    assert.equal(res.status, 200);
    const got = await eventually('RESTARTS 1 in weft get', async () => {
      const r = await mesh.weft(['get', 'workload', 'httpbin']);
      return /httpbin\s+Running\s+1\s/.test(r.stdout) ? r : undefined;
    });
    assert.match(got.stdout, /^NAME\s+STATUS\s+RESTARTS\s+POD-IP\s+AGE\nhttpbin\s+Running\s+1\s+127\.\d+\.\d+\.\d+\s+\S+\n$/);
  } finally {
    await mesh.stop();
    fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  }
});
