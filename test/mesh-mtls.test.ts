/**
 * A real mesh (httpbin + sleep, every process real): identity travels in mTLS, XFCC cannot be forged, STRICT
 * refuses plaintext, PERMISSIVE takes both, foreign certificates and wrong identities are refused, and the proxy
 * answers bad requests with the right status.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { request } from 'undici';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { CertificateAuthority } from '../src/identity/ca.js';
import { createCsr, generateWorkloadKey } from '../src/identity/workload-key.js';
import { cleanup } from './support/cleanup.js';

let mesh: MeshRun;

before(async () => {
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
});
cleanup('mesh-mtls', async () => {
  await mesh?.stop();
  if (mesh) fs.rmSync(mesh.stateDir, { recursive: true, force: true });
});

/** A client or server certificate for `spiffeId` from `ca` (the mesh's own CA when loaded from its state dir). */
async function certificateFor(ca: CertificateAuthority, spiffeId: string): Promise<{ key: string; cert: string }> {
  const key = await generateWorkloadKey();
  const issued = await ca.signCsr(await createCsr(key, spiffeId), { spiffeId, ttlMs: 3600_000 });
  return { key: key.privateKeyPem, cert: issued.chainPem };
}

function meshCa(): Promise<CertificateAuthority> {
  return CertificateAuthority.loadOrCreate(path.join(mesh.stateDir, 'ca'));
}

interface RawOutcome {
  /** The TCP connection was accepted (not refused). */
  connected: boolean;
  /** Every byte the peer sent back. */
  reply: string;
  /** How the connection ended: the peer closed it (or reset it), or nothing happened for 5 s. */
  ended: 'closed' | 'reset' | 'timeout' | 'refused';
}

/** Send raw bytes to host:port and collect what comes back until the peer closes. */
function rawConnection(address: string, payload: string): Promise<RawOutcome> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    let reply = '';
    let connected = false;
    let ended: RawOutcome['ended'] = 'closed';
    const s = net.connect({ host, port: Number(port) }, () => {
      connected = true;
      s.write(payload);
    });
    s.on('data', (c) => (reply += c.toString()));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') ended = 'refused';
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') ended = 'reset';
    });
    s.on('close', () => resolve({ connected, reply, ended }));
    s.setTimeout(5000, () => {
      ended = 'timeout';
      s.destroy();
    });
  });
}

async function rawExchange(address: string, payload: string): Promise<string> {
  return (await rawConnection(address, payload)).reply;
}

/** An mTLS handshake to a sidecar's inbound with the given client identity; resolves 'ok' or the error. */
function handshake(address: string, creds: { key: string; cert: string } | undefined, ca: string): Promise<string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const s = tls.connect({
      host,
      port: Number(port),
      ca,
      ...creds,
      servername: 'outbound_.8000_._.httpbin.default.svc.cluster.local',
      checkServerIdentity: () => undefined,
    });
    s.once('secureConnect', () => {
      // TLS 1.3 servers reject a bad client certificate after the client thinks it is done: read to find out.
      s.write('GET /headers HTTP/1.1\r\nhost: httpbin:8000\r\nconnection: close\r\n\r\n');
    });
    let got = '';
    s.on('data', (c) => (got += c.toString()));
    s.once('error', (err) => resolve(`error: ${err.message}`));
    s.once('close', () => resolve(got.startsWith('HTTP/1.1 200') ? 'ok' : `closed: ${got.slice(0, 40)}`));
  });
}

describe('mTLS between sidecars', () => {
  test('sleep calls httpbin and httpbin sees sleep\'s SPIFFE ID in XFCC', async () => {
    const res = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/headers');
    assert.equal(res.status, 200);
    const xfcc = (JSON.parse(res.body) as { headers: Record<string, string> }).headers['X-Forwarded-Client-Cert'];
    assert.match(xfcc ?? '', /^By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/httpbin;Hash=[0-9a-f]{64};Subject="";URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep$/);
  });

  test('every service name form resolves: short, namespaced, .svc, FQDN', async () => {
    for (const host of ['httpbin:8000', 'httpbin.default:8000', 'httpbin.default.svc:8000', 'httpbin.default.svc.cluster.local:8000']) {
      const res = await callAs(mesh.workload('sleep'), `http://${host}/get?form=${encodeURIComponent(host)}`);
      assert.equal(res.status, 200, host);
      // httpbin itself answered, to this very request, and through sleep's sidecar (its identity in XFCC).
      const echo = JSON.parse(res.body) as { args: Record<string, string>; headers: Record<string, string> };
      assert.deepEqual(echo.args, { form: host }, host);
      assert.match(echo.headers['X-Forwarded-Client-Cert'] ?? '', /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep$/, host);
    }
  });

  test('weft exec runs curl as sleep through its sidecar', async () => {
    const r = await mesh.weft(['exec', 'sleep', '--', 'curl', '-s', 'http://httpbin:8000/headers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);
  });

  test('a spoofed XFCC from the app is replaced', async () => {
    const forged = 'By=spiffe://cluster.local/ns/default/sa/httpbin;URI=spiffe://cluster.local/ns/default/sa/admin';
    const res = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/headers', { headers: { 'x-forwarded-client-cert': forged } });
    const xfcc = (JSON.parse(res.body) as { headers: Record<string, string> }).headers['X-Forwarded-Client-Cert'] ?? '';
    assert.doesNotMatch(xfcc, /sa\/admin/);
    assert.match(xfcc, /URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep$/);
  });

  test('a plaintext connection to a STRICT inbound port is refused', async () => {
    // Accepted, then closed at once with nothing sent back: not refused at connect, not left hanging, no HTTP answer.
    const got = await rawConnection(mesh.workload('httpbin').inbound, 'GET /get HTTP/1.1\r\nhost: httpbin:8000\r\n\r\n');
    assert.equal(got.connected, true, 'the inbound listener accepts the connection');
    assert.equal(got.reply, '', 'no byte of an answer');
    assert.notEqual(got.ended, 'timeout', 'closed by the sidecar, not left open');
    assert.notEqual(got.ended, 'refused');
  });

  test('a client certificate from another CA is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-foreign-ca-'));
    try {
      const foreign = await CertificateAuthority.loadOrCreate(dir);
      const creds = await certificateFor(foreign, 'spiffe://cluster.local/ns/default/sa/sleep');
      const bundle = fs.readFileSync(path.join(mesh.stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
      assert.notEqual(await handshake(mesh.workload('httpbin').inbound, creds, bundle), 'ok');
      // The same request with the mesh's own certificate for the same identity goes through: the CA made the difference.
      const good = await certificateFor(await meshCa(), 'spiffe://cluster.local/ns/default/sa/sleep');
      assert.equal(await handshake(mesh.workload('httpbin').inbound, good, bundle), 'ok');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a peer presenting the wrong SPIFFE ID is refused by the calling sidecar', async () => {
    // An impostor with a genuine mesh certificate, but for another service account, takes httpbin's place.
    const creds = await certificateFor(await meshCa(), 'spiffe://cluster.local/ns/default/sa/impostor');
    const bundle = fs.readFileSync(path.join(mesh.stateDir, 'ca', 'trust-bundle.pem'), 'utf8');
    const podIP = mesh.workload('httpbin').podIP.replace(/\.\d+$/, '.250');
    const impostor = tls.createServer({ ...creds, ca: bundle, requestCert: true }, (s) =>
      s.end('HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nhijack!'),
    );
    await new Promise<void>((r) => impostor.listen(15006, podIP, r));
    try {
      const status = await mesh.weft(['get', 'workload', 'httpbin', '-o', 'json']);
      const current = JSON.parse(status.stdout) as { status: { podIP: string } };
      await putStatus({ phase: 'Running', podIP, restarts: 0 });
      const res = await eventually('the sidecar to be sent to the impostor', async () => {
        const r = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/get');
        return r.status === 503 ? r : undefined;
      });
      assert.match(res.body, /impostor|upstream connect error/);
      assert.doesNotMatch(res.body, /hijack/);
      await putStatus({ phase: 'Running', podIP: current.status.podIP, restarts: 0 });
      await eventually('httpbin back', async () => (await callAs(mesh.workload('sleep'), 'http://httpbin:8000/get')).status === 200 || undefined);
    } finally {
      impostor.close();
    }
  });
});

async function putStatus(status: unknown): Promise<void> {
  const m = mesh.mesh();
  const res = await request(`https://${m.control.address}/api/v1/status/Workload/default/httpbin`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${fs.readFileSync(path.join(mesh.stateDir, 'admin.credential'), 'utf8').trim()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ status }),
    dispatcher: new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } }),
  });
  assert.equal(res.statusCode, 200, await res.body.text());
}

describe('PeerAuthentication', () => {
  test('PERMISSIVE accepts plaintext and mTLS; back to STRICT refuses plaintext again', async () => {
    const inbound = mesh.workload('httpbin').inbound;
    const permissive = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: httpbin-permissive, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  mtls: { mode: PERMISSIVE }
`;
    const applied = await mesh.weft(['apply', '-f', '-'], permissive);
    assert.equal(applied.code, 0, applied.stderr);
    try {
      const plain = await eventually('plaintext accepted', async () => {
        const got = await rawExchange(inbound, 'GET /headers HTTP/1.1\r\nhost: httpbin:8000\r\nx-forwarded-client-cert: By=forged\r\nconnection: close\r\n\r\n');
        return got.startsWith('HTTP/1.1 200') ? got : undefined;
      });
      // No identity was proven, so no XFCC reaches the app, and a forged one is dropped.
      assert.doesNotMatch(plain, /Forwarded-Client-Cert/i);
      const viaMesh = await callAs(mesh.workload('sleep'), 'http://httpbin:8000/headers');
      assert.match(viaMesh.body, /sa\/sleep/);
    } finally {
      const deleted = await mesh.weft(['delete', 'peerauthentication', 'httpbin-permissive']);
      assert.equal(deleted.code, 0, deleted.stderr);
    }
    await eventually('plaintext refused again', async () => {
      const got = await rawExchange(inbound, 'GET /get HTTP/1.1\r\nhost: httpbin:8000\r\nconnection: close\r\n\r\n');
      return got === '' || undefined;
    });
  });
});

describe('proxy errors', () => {
  test('a malformed request gets 400', async () => {
    const got = await rawExchange(mesh.workload('sleep').outbound, 'GET /x HTTP/1.1\r\nhost httpbin\r\n\r\n');
    assert.match(got, /^HTTP\/1\.1 400/);
  });

  test('an unknown host gets 502 with a reason (REGISTRY_ONLY)', async () => {
    const res = await callAs(mesh.workload('sleep'), 'http://nosuch:8000/get');
    assert.equal(res.status, 502);
    assert.match(res.body, /egress denied: REGISTRY_ONLY, no ServiceEntry for nosuch:8000/);
  });

  test('a service without endpoints gets 503', async () => {
    const svc = `apiVersion: v1
kind: Service
metadata: { name: empty, namespace: default }
spec: { selector: { app: nobody }, ports: [{ name: http, port: 80 }] }
`;
    assert.equal((await mesh.weft(['apply', '-f', '-'], svc)).code, 0);
    const res = await eventually('service known', async () => {
      const r = await callAs(mesh.workload('sleep'), 'http://empty/');
      return r.status === 502 ? undefined : r;
    });
    assert.equal(res.status, 503);
    assert.match(res.body, /no healthy upstream/);
  });

  test('the API refuses a request without a credential', async () => {
    const res = await request(`https://${mesh.mesh().control.address}/api/v1/resources`, {
      dispatcher: new (await import('undici')).Agent({ connect: { rejectUnauthorized: false } }),
    });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
  });
});
