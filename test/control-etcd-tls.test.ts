/**
 * `weft control` on an etcd member that serves clients over TLS and checks their certificates (certificates made
 * here): with --etcd-cacert/--etcd-cert/--etcd-key and an https:// endpoint it starts and stores what is applied
 * through it; given another CA, or the member's address with http://, it refuses to start and says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { freeListenPort } from '../bench/listen-port.js';
import { onTeardown } from '../bench/teardown.js';
import { ControlClient } from '../src/cli/client.js';
import type { Resource } from '../src/config/resource.js';
import { createSealingKeyFile } from '../src/control/replica/envelope.js';
import { ensureEtcdPki } from '../src/control/store/etcd-certificates.js';
import { etcdCredentials } from '../src/control/store/etcd-tls.js';
import { cleanup } from './support/cleanup.js';
import { startTestEtcd } from './support/etcd-cluster.js';
import type { TestEtcd } from './support/etcd-cluster.js';
import { REPO_ROOT, WEFT_BIN, runWeft } from './support/mesh-process.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-control-etcd-tls-'));
let etcd: TestEtcd | undefined;
cleanup('control-etcd-tls', async () => {
  await etcd?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const service: Resource = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'over-tls', namespace: 'default', labels: {}, annotations: {} }, spec: { ports: [{ name: 'http', port: 80 }] } };

test('weft control over TLS to etcd: starts with the right files, refuses another CA and a plaintext endpoint', async () => {
  const ours = await ensureEtcdPki(path.join(dir, 'pki'), ['127.0.0.1']);
  const other = await ensureEtcdPki(path.join(dir, 'other-pki'), ['127.0.0.1']);
  etcd = await startTestEtcd(1, { tls: ours });
  const sealingKey = path.join(dir, 'sealing.key');
  createSealingKeyFile(sealingKey);
  const endpoint = etcd.endpoints[0]!;
  assert.match(endpoint, /^https:\/\//);
  const listen = `127.0.0.1:${await freeListenPort()}`;
  const control = (stateDir: string, url: string, tls: string[]): string[] => [
    '--state-dir', path.join(dir, stateDir), 'control', '--listen', listen, '--store', 'etcd', '--etcd-prefix', 'tls-test/',
    '--etcd-endpoints', url, ...tls, '--sealing-key', sealingKey,
  ];
  const ourFiles = ['--etcd-cacert', ours.caFile, '--etcd-cert', ours.clientCertFile, '--etcd-key', ours.clientKeyFile];

  const wrongCa = await runWeft(control('wrong-ca', endpoint, ['--etcd-cacert', other.caFile, '--etcd-cert', ours.clientCertFile, '--etcd-key', ours.clientKeyFile]));
  assert.equal(wrongCa.code, 1);
  assert.match(wrongCa.stderr, /error: etcd at https:\/\/127\.0\.0\.1:\d+: its certificate does not chain to --etcd-cacert/);
  const plaintext = await runWeft(control('plaintext', endpoint.replace('https:', 'http:'), []));
  assert.equal(plaintext.code, 1);
  assert.match(plaintext.stderr, /error: etcd at http:\/\/127\.0\.0\.1:\d+: it speaks TLS: name it with https:\/\//);
  const mixed = await runWeft(control('mixed', endpoint.replace('https:', 'http:'), ourFiles));
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /need https:\/\/ etcd endpoints/);

  const child: ChildProcess = spawn(process.execPath, [WEFT_BIN, ...control('good', endpoint, ourFiles)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const unregister = onTeardown({ what: 'weft control over TLS', stop: async () => void (child.exitCode === null && process.kill(-child.pid!, 'SIGKILL')) });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const ready = /"msg":"control plane ready","address":"([^"]+)"/.exec(out);
        if (ready) resolve(ready[1]!);
      });
      child.once('exit', (code) => reject(new Error(`weft control exited ${code}: ${err}`)));
    });
    const client = new ControlClient({
      address,
      credential: fs.readFileSync(path.join(dir, 'good', 'admin.credential'), 'utf8').trim(),
      caPem: fs.readFileSync(path.join(dir, 'good', 'ca', 'trust-bundle.pem'), 'utf8'),
    });
    try {
      await client.apply([service]);
    } finally {
      await client.close();
    }
    // What the replica wrote is in etcd, read back over TLS with the client certificate.
    const reader = new Etcd3({ hosts: etcd.endpoints, credentials: etcdCredentials({ caFile: ours.caFile, certFile: ours.clientCertFile, keyFile: ours.clientKeyFile })! });
    try {
      const stored = await reader.getAll().prefix('tls-test/resources/Service/default/over-tls').keys();
      assert.equal(stored.length, 1);
    } finally {
      reader.close();
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
    unregister();
  }
});
