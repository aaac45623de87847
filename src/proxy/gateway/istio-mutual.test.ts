/**
 * ISTIO_MUTUAL at a gateway server: the gateway's own SVID served, a client certificate from the mesh's CA required,
 * and a rotated SVID served on new connections once the gateway is told (main.ts calls rotate on renewal).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import https from 'node:https';
import tls from 'node:tls';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { TestCa } from './test-certificates.fixture.js';
import type { TestCertificate } from './test-certificates.fixture.js';
import { gatewayConfig, serverTls } from './gateway-config.fixture.js';
import { createGatewayListeners } from './index.js';
import type { GatewayListeners } from './index.js';

const SLEEP = 'spiffe://cluster.local/ns/default/sa/sleep';
const mesh = await TestCa.create('mesh CA');
const other = await TestCa.create('other CA');
const svid = (leaf: TestCertificate): unknown => ({ keyPem: leaf.keyPem, certChainPem: [leaf.certPem], trustBundlePem: [mesh.certPem] });
let current = svid(await mesh.leaf('gateway-1.example'));
const cert = { get ready() { return true; }, get current() { return current; } } as unknown as WorkloadCertificate;
let gateway: GatewayListeners;
let backend: net.Server;
let port = 0;
let httpsPort = 0;

before(async () => {
  backend = (await import('node:net')).createServer((s) => s.on('data', (d) => s.write(d)));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const rt = testRuntime({ cert });
  const leaf = await mesh.leaf('unused');
  const istioMutual = serverTls({ certPem: leaf.certPem, keyPem: leaf.keyPem }, { mode: 'ISTIO_MUTUAL', certificates: [] });
  const cfg = gatewayConfig((backend.address() as net.AddressInfo).port, [
    { port: 15443, protocol: 'TLS', chains: [{ server: 'mtls', sniHosts: ['*'], tls: istioMutual, tcp: [{ source: 'vs#0', match: [], destinations: [{ host: 'backend.default.svc.cluster.local', port: 443, weight: 100 }] }] }] },
    { port: 16443, protocol: 'HTTPS', chains: [{ server: 'https', sniHosts: ['*'], tls: istioMutual, virtualHosts: [] }] },
  ]);
  // Only sleep may call through the gateway: the caller is the verified client certificate's SPIFFE ID.
  cfg.security.authorizationPolicies.push({
    namespace: 'weft-system',
    name: 'allow-sleep',
    annotations: {},
    spec: { action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/sleep'] } }] }] },
  });
  const compiled = acceptProxyConfig(cfg);
  installConfig(rt, compiled);
  gateway = createGatewayListeners(rt, '127.0.0.1', new Map([[15443, 0], [16443, 0]]), 5_000);
  await gateway.reconcile(compiled);
  port = Number(gateway.addresses()['15443']!.split(':').pop());
  httpsPort = Number(gateway.addresses()['16443']!.split(':').pop());
});
after(async () => {
  await gateway?.close();
  backend?.close();
});

function call(client?: TestCertificate): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'egress.example.com', ca: mesh.certPem, checkServerIdentity: () => undefined, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, () => {
      const cn = String(s.getPeerCertificate().subject.CN);
      s.write('ping');
      s.once('data', (d: Buffer) => {
        resolve(`${cn} ${d.toString()}`);
        s.destroy();
      });
    });
    s.once('error', (e) => resolve(`error: ${e.message}`));
    s.once('close', () => resolve('closed'));
  });
}

test('ISTIO_MUTUAL: the gateway SVID is served; a mesh client certificate is required', async () => {
  assert.equal(await call(await mesh.leaf('sleep.example', SLEEP)), 'gateway-1.example ping');
  assert.match(await call(), /^(closed|error)/);
  assert.match(await call(await other.leaf('sleep.example', SLEEP)), /^(closed|error)/);
});

test('a renewed SVID is served on new connections after rotate()', async () => {
  current = svid(await mesh.leaf('gateway-2.example'));
  gateway.rotate();
  assert.equal(await call(await mesh.leaf('sleep.example', SLEEP)), 'gateway-2.example ping');
});

function get(client: TestCertificate): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port: httpsPort, path: '/', servername: 'gw.example.com', headers: { host: 'gw.example.com' }, ca: mesh.certPem, cert: client.certPem, key: client.keyPem, checkServerIdentity: () => undefined, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', (e) => resolve(e.message));
    req.end();
  });
}

test('ISTIO_MUTUAL over HTTPS: AuthorizationPolicy at the gateway decides by the caller identity', async () => {
  // Allowed callers get past authorization (and then 404: no route in this config); others are denied.
  assert.equal(await get(await mesh.leaf('sleep.example', 'spiffe://cluster.local/ns/default/sa/sleep')), 404);
  assert.equal(await get(await mesh.leaf('other.example', 'spiffe://cluster.local/ns/default/sa/other')), 403);
  assert.equal(await get(await mesh.leaf('nobody.example')), 403);
});

test('ISTIO_MUTUAL over TLS: a connection of another identity is closed by the same policy (TCP semantics)', async () => {
  assert.match(await call(await mesh.leaf('other.example', 'spiffe://cluster.local/ns/default/sa/other')), /^(closed|error)/);
});
