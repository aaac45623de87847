/**
 * The control plane's listener never resumes a TLS session: a resumed session would skip the client certificate and
 * keep the identity an earlier connection proved. Real TLS on loopback; the client offers the session it was given.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../identity/ca.js';
import { createRootCa } from '../identity/root-ca.js';
import { createCsr, generateWorkloadKey } from '../identity/workload-key.js';
import { PUSH_ALPN } from '../push/protocol.js';
import { alpnListener } from './alpn-listener.js';
import type { AlpnListener } from './alpn-listener.js';

const TRUST_DOMAIN = 'cluster.local';
let ca: CertificateAuthority;
let listener: AlpnListener;
let port: number;

async function issued(spiffeId: string): Promise<{ key: string; cert: string }> {
  const key = await generateWorkloadKey();
  const { chainPem } = await ca.signCsr(await createCsr(key, spiffeId), { spiffeId, ttlMs: 3_600_000 });
  return { key: key.privateKeyPem, cert: chainPem };
}

before(async () => {
  ca = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now(), trustDomain: TRUST_DOMAIN }));
  listener = alpnListener({
    ...(await issued(`spiffe://${TRUST_DOMAIN}/ns/weft-system/sa/weft-control`)),
    ca: ca.trustBundlePem(),
    onRequest: (_req, res) => {
      res.writeHead(404);
      res.end();
    },
    onPushStream: (socket) => socket.end('bye\n'),
  });
  await listener.listen(0, '127.0.0.1');
  port = (listener.tls.address() as AddressInfo).port;
});
after(() => listener.close());

/** Connects as `client`, offering `session` if given; resolves once the server has closed the stream. */
function connect(client: { key: string; cert: string }, alpn: string, session?: Buffer): Promise<{ reused: boolean; sessions: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const sessions: Buffer[] = [];
    const socket = tls.connect({ host: '127.0.0.1', port, ...client, ca: ca.trustBundlePem(), ALPNProtocols: [alpn], checkServerIdentity: () => undefined, ...(session === undefined ? {} : { session }) });
    socket.on('session', (s: Buffer) => sessions.push(s));
    socket.on('error', reject);
    socket.resume();
    let reused = false;
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      if (alpn !== PUSH_ALPN) socket.end();
    });
    socket.once('close', () => resolve({ reused, sessions }));
  });
}

for (const alpn of [PUSH_ALPN, 'http/1.1']) {
  test(`a ${alpn} connection offering its last session gets a full handshake`, async () => {
    const client = await issued(`spiffe://${TRUST_DOMAIN}/ns/default/sa/web`);
    const first = await connect(client, alpn);
    assert.equal(first.reused, false);
    // OpenSSL still hands the client a session to offer; what matters is that the listener will not take it.
    const offered = first.sessions.at(-1);
    assert.ok(offered, 'the client got a session to offer');
    const second = await connect(client, alpn, offered);
    assert.equal(second.reused, false, 'the session was not resumed');
  });
}

test('after a certificate rotation the listener still does not resume', async () => {
  listener.setSecureContext({ ...(await issued(`spiffe://${TRUST_DOMAIN}/ns/weft-system/sa/weft-control`)), ca: ca.trustBundlePem() });
  const client = await issued(`spiffe://${TRUST_DOMAIN}/ns/default/sa/web`);
  const first = await connect(client, PUSH_ALPN);
  const offered = first.sessions.at(-1);
  assert.ok(offered);
  assert.equal((await connect(client, PUSH_ALPN, offered)).reused, false);
});
