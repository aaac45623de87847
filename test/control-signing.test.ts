/**
 * The control plane's certificate endpoint, spoken to as a proxy would: a bootstrap token buys one SVID for the
 * identity it is bound to, and nothing else. Every refusal has a reason a person can act on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { runControlPlane } from '../src/control/control-plane.js';
import type { RunningControlPlane } from '../src/control/control-plane.js';
import { meshConfigWithDefaults } from '../src/config/kinds/mesh-config.js';
import { ControlClient } from '../src/cli/client.js';
import { createCsr, generateWorkloadKey } from '../src/identity/workload-key.js';
import { spiffeIdFromCertificate } from '../src/identity/svid.js';
import { PUSH_ALPN } from '../src/push/protocol.js';

let dir: string;
let cp: RunningControlPlane;
let client: ControlClient;
let bundle: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cp-'));
  cp = await runControlPlane({ stateDir: dir, listen: '127.0.0.1:0', bootstrap: meshConfigWithDefaults(undefined), metricsListen: '127.0.0.1:0' });
  bundle = fs.readFileSync(path.join(dir, 'ca', 'trust-bundle.pem'), 'utf8');
  client = new ControlClient({ address: cp.address, credential: fs.readFileSync(path.join(dir, 'admin.credential'), 'utf8').trim(), caPem: bundle });
});
after(async () => {
  await client?.close();
  await cp?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function sign(token: string, body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const session = http2.connect(`https://${cp.address}`, { ca: bundle, checkServerIdentity: () => undefined });
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/v1/sign', 'content-type': 'application/json', authorization: `Bearer ${token}` });
      let status = 0;
      let text = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => resolve({ status, json: JSON.parse(text) as Record<string, unknown> }));
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  } finally {
    session.close();
  }
}

const httpbin = { namespace: 'default', serviceAccount: 'httpbin', workload: 'httpbin' };
const httpbinId = 'spiffe://cluster.local/ns/default/sa/httpbin';

async function csrFor(id: string): Promise<string> {
  return createCsr(await generateWorkloadKey(), id);
}

test('a token buys one SVID for its own identity', async () => {
  const token = await client.issueToken(httpbin);
  const r = await sign(token, { ...httpbin, csr: await csrFor(httpbinId) });
  assert.equal(r.status, 200);
  const chain = r.json['certChain'] as string[];
  assert.equal(spiffeIdFromCertificate(chain[0]!), httpbinId);
  assert.ok(new X509Certificate(chain[0]!).verify(new X509Certificate(bundle).publicKey));
});

test('a replayed token is refused', async () => {
  const token = await client.issueToken(httpbin);
  assert.equal((await sign(token, { ...httpbin, csr: await csrFor(httpbinId) })).status, 200);
  const again = await sign(token, { ...httpbin, csr: await csrFor(httpbinId) });
  assert.equal(again.status, 401);
  assert.equal((again.json['error'] as { code: string }).code, 'TOKEN_REPLAYED');
});

test('a token for another identity is refused', async () => {
  const token = await client.issueToken({ namespace: 'default', serviceAccount: 'sleep', workload: 'sleep' });
  const r = await sign(token, { ...httpbin, csr: await csrFor(httpbinId) });
  assert.ok(r.status === 401 || r.status === 403, String(r.status));
  assert.equal((r.json['error'] as { code: string }).code, 'TOKEN_IDENTITY_MISMATCH');
});

test('a CSR asking for another SPIFFE ID is refused and names both', async () => {
  const token = await client.issueToken(httpbin);
  const r = await sign(token, { ...httpbin, csr: await csrFor('spiffe://cluster.local/ns/default/sa/admin') });
  assert.equal(r.status, 403);
  const error = r.json['error'] as { code: string; message: string };
  assert.equal(error.code, 'CSR_IDENTITY_MISMATCH');
  assert.match(error.message, /sa\/admin/);
  assert.match(error.message, /sa\/httpbin/);
});

test('a malformed token and no token are refused', async () => {
  const r = await sign('wft1.nope.nope', { ...httpbin, csr: await csrFor(httpbinId) });
  assert.equal(r.status, 401);
  assert.equal((r.json['error'] as { code: string }).code, 'TOKEN_INVALID');
  assert.equal((await sign('', { ...httpbin, csr: await csrFor(httpbinId) })).status, 401);
});

test('the push stream refuses a caller without a mesh certificate, on the same port as the API', async () => {
  const [host, port] = [cp.address.slice(0, cp.address.lastIndexOf(':')), Number(cp.address.slice(cp.address.lastIndexOf(':') + 1))];
  const socket = tls.connect({ host, port, ca: bundle, ALPNProtocols: [PUSH_ALPN], checkServerIdentity: () => undefined });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve());
    socket.once('error', reject);
  });
  assert.equal(socket.alpnProtocol, PUSH_ALPN);
  const refusal = JSON.parse(text.trim()) as { type: string; message: string };
  assert.equal(refusal.type, 'error');
  assert.match(refusal.message, /needs mTLS/);
});

test('the API answers over HTTP/1.1 and over no ALPN at all on the push port', async () => {
  for (const ALPNProtocols of [['http/1.1'], undefined]) {
    const status = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: Number(cp.address.split(':').pop()), path: '/api/v1/resources', ca: bundle, checkServerIdentity: () => undefined, agent: false, ...(ALPNProtocols ? { ALPNProtocols } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 401, 'no credential');
  }
});

test("the metrics listener counts the CSRs signed, as istiod's citadel_server_* metrics", async () => {
  const res = await fetch(`http://${cp.metricsAddress ?? ''}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  // Every earlier test's signing that reached the CA was counted, its own serving certificate's aside.
  assert.ok(value('citadel_server_success_cert_issuance_count') >= 1, text);
  assert.equal(value('citadel_server_csr_count'), value('citadel_server_success_cert_issuance_count') + value('citadel_server_csr_sign_err_count'));
  assert.equal(value('pilot_xds'), 0);
  assert.ok(value('weft_store_revision') >= 0);
});
