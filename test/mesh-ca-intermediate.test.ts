/**
 * The CA can run as an intermediate under an operator's root, whose root then is the whole trust bundle: workloads
 * present chains that end at it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { callAs, startMesh } from './support/mesh-process.js';

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
