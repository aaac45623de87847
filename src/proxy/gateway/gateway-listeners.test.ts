/**
 * The gateway's listeners across config pushes: certificates from files (serverCertificate, privateKey) read at each
 * push, so a replaced file is served on new connections while an open one keeps its own; a file that cannot be read
 * rejects the push and the last config keeps serving; httpsRedirect on an HTTP server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { TestCa } from './test-certificates.fixture.js';
import { gatewayConfig, serverTls } from './gateway-config.fixture.js';
import { createGatewayListeners } from './index.js';
import type { GatewayListeners } from './index.js';

function servedCn(port: number, keepOpen = false): Promise<{ cn: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'files.example.com', rejectUnauthorized: false }, () => {
      resolve({ cn: String(s.getPeerCertificate().subject.CN), socket: s });
      if (!keepOpen) s.destroy();
    });
    s.once('error', reject);
  });
}

describe('gateway listeners across pushes', async () => {
  const ca = await TestCa.create('files CA');
  const first = await ca.leaf('first.example.com');
  const second = await ca.leaf('second.example.com');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-gw-files-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  let gateway: GatewayListeners;
  let port = 0;
  let backend: net.Server;
  const rt = testRuntime();

  const push = async (version: string, files: { cert: string; key: string }, redirect = false): Promise<void> => {
    const backendPort = (backend.address() as net.AddressInfo).port;
    const cfg = gatewayConfig(backendPort, [
      { port: 10443, protocol: 'TLS', chains: [{ server: 'files', sniHosts: ['files.example.com'], tls: { ...serverTls(first), certificates: [{ chain: { file: files.cert }, privateKey: { file: files.key } }] }, tcp: [{ source: 'vs#0', match: [], destinations: [{ host: 'backend.default.svc.cluster.local', port: 443, weight: 100 }] }] }] },
      ...(redirect ? [{ port: 10080, protocol: 'HTTP' as const, virtualHosts: [{ gateway: 'default/gw', domains: ['files.example.com'], routes: [], httpsRedirect: true }] }] : []),
    ]);
    const compiled = acceptProxyConfig({ ...cfg, version });
    await gateway.reconcile(compiled);
    installConfig(rt, compiled);
  };

  before(async () => {
    backend = (await import('node:net')).createServer((s) => s.on('data', (d) => s.write(d)));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    fs.writeFileSync(certFile, first.certPem);
    fs.writeFileSync(keyFile, first.keyPem);
    gateway = createGatewayListeners(rt, '127.0.0.1', new Map([[10443, 0], [10080, 0]]), 5_000);
    await push('v1', { cert: certFile, key: keyFile });
    port = Number(gateway.addresses()['10443']!.split(':').pop());
  });
  after(async () => {
    await gateway?.close();
    backend?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a replaced file is served on new connections after a push; an open connection keeps its certificate', async () => {
    const open = await servedCn(port, true);
    assert.equal(open.cn, 'first.example.com');
    fs.writeFileSync(certFile, second.certPem);
    fs.writeFileSync(keyFile, second.keyPem);
    await push('v2', { cert: certFile, key: keyFile });
    assert.equal((await servedCn(port)).cn, 'second.example.com');
    // The connection made before the push still works, with the certificate it was given.
    const echoed = await new Promise<string>((resolve) => {
      open.socket.once('data', (d: Buffer) => resolve(d.toString()));
      open.socket.write('still here');
    });
    assert.equal(echoed, 'still here');
    assert.equal(open.socket.getPeerCertificate().subject.CN, 'first.example.com');
    open.socket.destroy();
  });

  test('a file that cannot be read rejects the push; the last config keeps serving', async () => {
    await assert.rejects(push('v3', { cert: path.join(dir, 'missing.pem'), key: keyFile }), /ENOENT/);
    assert.equal((await servedCn(port)).cn, 'second.example.com');
  });

  test('httpsRedirect: 301 to https, same host and path', async () => {
    await push('v4', { cert: certFile, key: keyFile }, true);
    const httpPort = Number(gateway.addresses()['10080']!.split(':').pop());
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: httpPort, path: '/status/418?x=1', headers: { host: 'files.example.com' } }, resolve).once('error', reject);
    });
    res.resume();
    assert.deepEqual([res.statusCode, res.headers.location], [301, 'https://files.example.com/status/418?x=1']);
  });
});
