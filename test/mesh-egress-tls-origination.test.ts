/**
 * Istio's egress-tls-origination task on a real mesh: sleep sends plain HTTP to a ServiceEntry host on port 80
 * whose targetPort is the HTTPS port, and the DestinationRule's `tls.mode: SIMPLE` on port 80 makes sleep's sidecar
 * originate TLS. The HTTPS server runs on loopback with a certificate from a CA made here (the rule names the CA
 * file, as the task's MUTUAL variant names its files). A rule naming another CA is refused: 503, `UF` and the
 * reason in the sidecar's access log. MUTUAL presents the client certificate the server then names.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type net from 'node:net';
import type tls from 'node:tls';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { applyAndSync } from './support/config-sync.js';
import { cleanup } from './support/cleanup.js';
import { TestPki } from '../src/proxy/upstream/test-pki.fixture.js';
import type { TestCa, TestLeaf } from '../src/proxy/upstream/test-pki.fixture.js';

const HOST = 'secure.weft.test';
const pki = new TestPki();
let ca: TestCa;
let otherCa: TestCa;
let client: TestLeaf;
let mesh: MeshRun;
let server: https.Server;
let httpsPort = 0;

cleanup('mesh-egress-tls-origination', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
  server?.closeAllConnections();
  server?.close();
  pki.remove();
});

before(async () => {
  ca = await pki.ca('egress-ca');
  otherCa = await pki.ca('not-the-egress-ca');
  const leaf = await pki.leaf(ca, HOST, [HOST], 'server');
  client = await pki.leaf(ca, 'sleep-egress-client', [], 'client');
  server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem, ca: ca.cert.toString('pem'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
    res.end(`secure ${req.headers.host ?? ''} ${req.url ?? ''} client=${(peer.subject?.CN as string | undefined) ?? 'none'}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  httpsPort = (server.address() as net.AddressInfo).port;
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
});

const entry = (): string => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: secure-weft-test, namespace: default }
spec:
  hosts: [${HOST}]
  ports:
  - { number: 80, name: http-port, protocol: HTTP, targetPort: ${httpsPort} }
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

const rule = (tlsFields: string): string => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: secure-weft-test, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    portLevelSettings:
    - port: { number: 80 }
      tls: { ${tlsFields} }
`;

interface Line {
  authority?: string;
  status?: number;
  responseFlags?: string;
  reason?: string;
}

function sleepLog(): Line[] {
  const text = fs.readFileSync(path.join(mesh.stateDir, 'logs', 'default.sleep.sidecar.log'), 'utf8');
  return text.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Line];
    } catch {
      return [];
    }
  });
}

test('SIMPLE: plain HTTP from the app arrives at the HTTPS server', async () => {
  await applyAndSync(mesh, 'apply', { yaml: `${entry()}---\n${rule(`mode: SIMPLE, caCertificates: ${ca.certFile}`)}` }, ['sleep']);
  const r = await callAs(mesh.workload('sleep'), `http://${HOST}/get`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, `secure ${HOST} /get client=none`);
});

test('a CA that did not sign the server: 503, UF and the reason logged', async () => {
  await applyAndSync(mesh, 'apply', { yaml: rule(`mode: SIMPLE, caCertificates: ${otherCa.certFile}`) }, ['sleep']);
  const r = await callAs(mesh.workload('sleep'), `http://${HOST}/refused`);
  assert.equal(r.status, 503);
  assert.match(r.body, /TLS origination to secure\.weft\.test failed/);
  const line = await eventually('the refusal in the access log', () => sleepLog().find((l) => l.status === 503 && l.responseFlags === 'UF'));
  assert.match(line.reason ?? '', /TLS origination to secure\.weft\.test failed: .*(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
});

test('MUTUAL presents the client certificate', async () => {
  await applyAndSync(mesh, 'apply', { yaml: rule(`mode: MUTUAL, caCertificates: ${ca.certFile}, clientCertificate: ${client.certFile}, privateKey: ${client.keyFile}`) }, ['sleep']);
  const r = await callAs(mesh.workload('sleep'), `http://${HOST}/mutual`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, `secure ${HOST} /mutual client=sleep-egress-client`);
});
