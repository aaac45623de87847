/**
 * The control plane's listener never resumes a TLS session: a resumed session would skip the client certificate and
 * keep the identity an earlier connection proved. Real TLS on loopback; the client offers the session it was given.
 * It picks the protocol in its own order of preference, serves HTTP/1.1 to a client that offers no ALPN, and refuses
 * one that offers only protocols it does not speak.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { CertificateAuthority } from '../identity/ca.js';
import { createRootCa } from '../identity/root-ca.js';
import { createCsr, generateWorkloadKey } from '../identity/workload-key.js';
import { PUSH_ALPN } from '../push/protocol.js';
import { alpnListener, chooseAlpn } from './alpn-listener.js';
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

test('the listener chooses by its own preference: h2, then http/1.1, then the push stream', () => {
  assert.equal(chooseAlpn({ protocols: ['http/1.1', 'h2'] }), 'h2');
  assert.equal(chooseAlpn({ protocols: [PUSH_ALPN, 'http/1.1'] }), 'http/1.1');
  assert.equal(chooseAlpn({ protocols: [PUSH_ALPN] }), PUSH_ALPN);
  assert.equal(chooseAlpn({ protocols: ['spdy/3', 'h2c'] }), undefined);
});

/** A handshake offering `alpn` (none when undefined): the protocol chosen, or the handshake's error. */
function handshake(alpn: string[] | undefined): Promise<{ protocol: string | false | null } | { error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.trustBundlePem(), checkServerIdentity: () => undefined, ...(alpn === undefined ? {} : { ALPNProtocols: alpn }) });
    socket.once('error', (error) => resolve({ error }));
    socket.once('secureConnect', () => {
      const protocol = socket.alpnProtocol;
      if (protocol !== false) return void socket.end(() => resolve({ protocol }));
      // No ALPN: the listener serves HTTP/1.1.
      socket.write('GET /nothing HTTP/1.1\r\nHost: control\r\nConnection: close\r\n\r\n');
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      socket.once('end', () => resolve({ protocol: answer.startsWith('HTTP/1.1 404') ? false : null }));
    });
  });
}

test('a client offering both HTTP versions gets h2, one offering no ALPN is served HTTP/1.1', async () => {
  assert.deepEqual(await handshake(['http/1.1', 'h2']), { protocol: 'h2' });
  assert.deepEqual(await handshake(undefined), { protocol: false });
});

test('a client offering only protocols the listener does not speak is refused with no_application_protocol', async () => {
  const r = await handshake(['spdy/3']);
  assert.ok('error' in r, 'the handshake failed');
  assert.match(String(r.error.code), /NO_APPLICATION_PROTOCOL/);
});
