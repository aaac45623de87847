/**
 * Certificate requests across control-plane replicas: a replica that cannot be reached or answers 5xx is an
 * outage and the next one is tried; a refusal (4xx: a spent token, a bad CSR) is the control plane's answer and is
 * not retried elsewhere, so a single-use token is never offered twice.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { systemClock } from '../../clock.js';
import { isWeftError } from '../../errors.js';
import { CertificateAuthority } from '../../identity/ca.js';
import { createRootCa } from '../../identity/root-ca.js';
import { createCsr, generateWorkloadKey } from '../../identity/workload-key.js';
import { PUSH_PATHS } from '../../push/protocol.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { ControlConnection } from './control-connection.js';

const CONTROL_ID = 'spiffe://cluster.local/ns/weft-system/sa/weft-control';
let ca: CertificateAuthority;
let serving: { key: string; cert: string };
const servers: http2.Http2SecureServer[] = [];

before(async () => {
  const root = await createRootCa({ now: Date.now(), trustDomain: 'cluster.local' });
  ca = await CertificateAuthority.fromPem(root);
  const key = await generateWorkloadKey();
  const issued = await ca.signCsr(await createCsr(key, CONTROL_ID), { spiffeId: CONTROL_ID, ttlMs: 3_600_000 });
  serving = { key: key.privateKeyPem, cert: issued.chainPem };
});
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A replica answering every sign request with `status`; counts what it was asked. */
async function replica(status: number): Promise<{ url: string; asked: () => number }> {
  let asked = 0;
  const server = http2.createSecureServer(serving, (req, res) => {
    asked++;
    req.resume();
    req.on('end', () => {
      if (req.url !== PUSH_PATHS.sign) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 200 ? { certChain: [serving.cert], trustBundle: [ca.trustBundlePem()] } : { error: { code: 'X', message: `answered ${status}` } }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, asked: () => asked };
}

/** A URL nothing listens on (a replica that is down). */
async function down(): Promise<string> {
  const s = http2.createSecureServer(serving);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise((r) => s.close(r));
  return url;
}

function connection(urls: string[]): ControlConnection {
  return new ControlConnection({
    urls,
    bootstrapCaPem: ca.trustBundlePem(),
    controlSpiffeId: CONTROL_ID,
    cert: {} as WorkloadCertificate,
    node: { role: 'sidecar', namespace: 'default', name: 'a', podIP: '127.0.0.1' },
    clock: systemClock,
    log: { info: () => undefined, warn: () => undefined },
    onConfig: async () => '',
    runtimeReport: () => ({ configVersion: null, time: new Date(0).toISOString(), certificates: [], clusters: [], truncated: false }),
  });
}

const identity = { namespace: 'default', serviceAccount: 'a', workload: 'a' };

test('a replica that is down or answers 5xx is skipped; the next one signs', async () => {
  const live = await replica(200);
  const failing = await replica(503);
  const signed = await connection([await down(), failing.url, live.url]).signWithToken('csr', 'token', identity);
  assert.deepEqual(signed.certChainPem, [serving.cert]);
  assert.deepEqual([failing.asked(), live.asked()], [1, 1]);
});

test('a refusal is final: the token is not offered to another replica', async () => {
  const refusing = await replica(401);
  const live = await replica(200);
  await assert.rejects(connection([refusing.url, live.url]).signWithToken('csr', 'token', identity), (err) => isWeftError(err, 'CERT_INVALID') && /401/.test(err.message));
  assert.deepEqual([refusing.asked(), live.asked()], [1, 0]);
});

test('every replica down: the last failure is reported', async () => {
  await assert.rejects(connection([await down(), await down()]).signWithToken('csr', 'token', identity), (err) => !isWeftError(err) && /ECONNREFUSED/.test(String(err)));
});

test('a connection needs at least one replica', () => {
  assert.throws(() => connection([]), TypeError);
});
