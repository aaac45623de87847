/**
 * The push stream over real TLS on loopback: the control plane's ALPN listener with a PushServer behind it, and the
 * proxy's own ControlConnection. Both sides check SPIFFE IDs; hostile peers (no certificate, another CA, garbage,
 * an endless line) are closed; a proxy moves to the next replica when its control plane goes.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { Resource } from '../config/resource.js';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import { CertificateAuthority } from '../identity/ca.js';
import { createRootCa } from '../identity/root-ca.js';
import { createCsr, generateWorkloadKey } from '../identity/workload-key.js';
import { splitPemCertificates } from '../identity/pem.js';
import { ControlConnection } from '../proxy/control/control-connection.js';
import { WorkloadCertificate } from '../proxy/tls/workload-certificate.js';
import { MAX_PROXY_MESSAGE_BYTES, PUSH_ALPN } from '../push/protocol.js';
import { alpnListener } from './alpn-listener.js';
import { LineWriter, WRITE_PIECE_BYTES } from './push-lines.js';
import type { AlpnListener } from './alpn-listener.js';
import { buildSnapshot } from './compile/snapshot.js';
import { PushServer } from './push-server.js';
import type { PushServerDeps } from './push-server.js';
import { verifiedSpiffeId } from './push-signing.js';

const TRUST_DOMAIN = 'cluster.local';
const CONTROL_ID = `spiffe://${TRUST_DOMAIN}/ns/weft-system/sa/weft-control`;
const BOOT = { ...meshConfigWithDefaults({ trustDomain: TRUST_DOMAIN }), rootNamespace: 'weft-system' };
const workload: Resource = {
  apiVersion: 'weft.dev/v1alpha1',
  kind: 'Workload',
  metadata: { namespace: 'default', name: 'web', labels: { app: 'web' }, annotations: {} } as Resource['metadata'],
  spec: { serviceAccount: 'web', command: ['app'], env: {}, ports: [{ containerPort: 8080, protocol: 'TCP' }] },
  status: { phase: 'Running', podIP: '127.0.0.1' },
};
const snapshot = buildSnapshot([workload], 1, BOOT);

let ca: CertificateAuthority;
let otherCa: CertificateAuthority;
const stops: Array<() => Promise<void> | void> = [];

before(async () => {
  ca = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now(), trustDomain: TRUST_DOMAIN }));
  otherCa = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now(), trustDomain: TRUST_DOMAIN }));
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function issued(by: CertificateAuthority, spiffeId: string): Promise<{ key: string; cert: string }> {
  const key = await generateWorkloadKey();
  const { chainPem } = await by.signCsr(await createCsr(key, spiffeId), { spiffeId, ttlMs: 3_600_000 });
  return { key: key.privateKeyPem, cert: chainPem };
}

interface Replica {
  url: string;
  port: number;
  push: PushServer;
  listener: AlpnListener;
  warnings: string[];
  stop(): Promise<void>;
}

/** A control-plane replica: the listener and push server as control-plane.ts wires them, serving as `servingId`. */
async function replica(servingId = CONTROL_ID): Promise<Replica> {
  const serving = await issued(ca, servingId);
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (msg: string) => void warnings.push(msg) } as unknown as PushServerDeps['log'];
  const push = new PushServer({ ca, tokens: {} as PushServerDeps['tokens'], snapshot: () => snapshot, certificateTtlMs: () => 3_600_000, log, onJwksRefresh: () => undefined });
  const listener = alpnListener({
    ...serving,
    ca: ca.trustBundlePem(),
    onRequest: (_req, res) => {
      res.writeHead(404);
      res.end();
    },
    onPushStream: (socket) => push.accept(socket, verifiedSpiffeId(socket)),
  });
  await listener.listen(0, '127.0.0.1');
  const { port } = listener.tls.address() as AddressInfo;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    push.closeAll();
    await listener.close();
  };
  stops.push(stop);
  return { url: `https://127.0.0.1:${port}`, port, push, listener, warnings, stop };
}

/** Records what the connection schedules, running it on real time: a test can see that a reconnect was planned. */
function recordingClock(): Clock & { scheduled: number } {
  const clock = {
    scheduled: 0,
    now: () => Date.now(),
    setTimeout: (fn: () => void, ms: number) => {
      clock.scheduled++;
      return systemClock.setTimeout(fn, ms);
    },
  };
  return clock;
}

/** Time that moves only when the test fires the next timer. */
class FakeClock implements Clock {
  timers: Array<() => void> = [];
  now(): number {
    return Date.now();
  }
  setTimeout(fn: () => void): NodeJS.Timeout {
    this.timers.push(fn);
    return setTimeout(() => undefined, 0);
  }
  fire(): void {
    const next = this.timers.shift();
    assert.ok(next, 'a timer is pending');
    next();
  }
}

async function proxy(urls: string[], namespace = 'default', clock: Clock = systemClock): Promise<{ control: ControlConnection; acked: string[]; warnings: string[] }> {
  const acked: string[] = [];
  const warnings: string[] = [];
  const spiffeId = `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/web`;
  const cert = new WorkloadCertificate(spiffeId, systemClock, () => undefined);
  await cert.issue(async (csr) => {
    const signed = await ca.signCsr(csr, { spiffeId, ttlMs: 3_600_000 });
    return { certChainPem: splitPemCertificates(signed.chainPem), trustBundlePem: splitPemCertificates(ca.trustBundlePem()) };
  });
  const control = new ControlConnection({
    urls,
    bootstrapCaPem: ca.trustBundlePem(),
    controlSpiffeId: CONTROL_ID,
    cert,
    node: { role: 'sidecar', namespace: 'default', name: 'web', podIP: '127.0.0.1' },
    clock,
    log: { info: () => undefined, warn: (msg: string) => void warnings.push(msg) },
    onConfig: (config) => {
      const version = String((config as { version: string }).version);
      acked.push(version);
      return Promise.resolve(version);
    },
    runtimeReport: () => ({ configVersion: null, time: new Date(0).toISOString(), certificates: [], clusters: [], truncated: false }),
  });
  stops.push(() => control.stop());
  control.start();
  return { control, acked, warnings };
}

/** Polls until `ok`; the test's timeout bounds it. */
async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 20));
}

/** A raw client of the push stream, for what a proxy would never send. */
async function rawClient(port: number, creds?: { key: string; cert: string }): Promise<{ socket: tls.TLSSocket; text: () => string; closed: Promise<void> }> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: ca.trustBundlePem(), ALPNProtocols: [PUSH_ALPN], checkServerIdentity: () => undefined, ...creds });
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (text += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return { socket, text: () => text, closed };
}

const HELLO = { type: 'hello', node: { role: 'sidecar', namespace: 'default', name: 'web', podIP: '127.0.0.1' }, certNotAfter: '2030-01-01T00:00:00Z' };

describe('push stream over TLS', () => {
  test('a proxy connects by ALPN, gets its config and ACKs it; the control plane answers its pings', async () => {
    const r = await replica();
    const p = await proxy([r.url]);
    await until(() => r.push.proxies()[0]?.ackedVersion != null);
    const [status] = r.push.proxies();
    assert.equal(status?.connected, true);
    assert.equal(status?.spiffeId, `spiffe://${TRUST_DOMAIN}/ns/default/sa/web`);
    assert.deepEqual(p.acked, [status?.ackedVersion]);
    const client = await rawClient(r.port, await issued(ca, `spiffe://${TRUST_DOMAIN}/ns/default/sa/web`));
    client.socket.write(`${JSON.stringify(HELLO)}\n${JSON.stringify({ type: 'ping' })}\n`);
    await until(() => client.text().includes('{"type":"pong"}'));
    assert.match(client.text(), /^\{"type":"config"/);
    client.socket.destroy();
    await r.stop();
  });

  test('a control plane presenting another SPIFFE ID is refused by the proxy, which tries again', async () => {
    const impostor = await replica(`spiffe://${TRUST_DOMAIN}/ns/default/sa/impostor`);
    const clock = recordingClock();
    const p = await proxy([impostor.url], 'default', clock);
    await until(() => clock.scheduled >= 2);
    assert.equal(p.control.connected, false);
    assert.deepEqual(impostor.push.proxies(), [], 'no hello reached the impostor');
    p.control.stop();
    await impostor.stop();
  });

  test('a certificate for another namespace than the hello names is refused with why', async () => {
    const r = await replica();
    const p = await proxy([r.url], 'other');
    await until(() => p.warnings.includes('control plane refused this proxy'));
    assert.deepEqual(r.push.proxies(), []);
    p.control.stop();
    await r.stop();
  });

  test('no client certificate, or one from another CA: refused with why and closed', async () => {
    const r = await replica();
    for (const creds of [undefined, await issued(otherCa, `spiffe://${TRUST_DOMAIN}/ns/default/sa/web`)]) {
      const client = await rawClient(r.port, creds);
      client.socket.write(`${JSON.stringify(HELLO)}\n`);
      await client.closed;
      assert.match(client.text(), /"type":"error".*needs mTLS/);
    }
    assert.deepEqual(r.push.proxies(), []);
    await r.stop();
  });

  test('garbage, and a line longer than the bound sent without end, close the stream', async () => {
    const r = await replica();
    const creds = await issued(ca, `spiffe://${TRUST_DOMAIN}/ns/default/sa/web`);
    const garbage = await rawClient(r.port, creds);
    garbage.socket.write('\u0000\u0001 not json at all\n');
    await garbage.closed;
    const endless = await rawClient(r.port, creds);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    // Written until the server closes it: a bound that held would stop here within the limit and one piece.
    let sent = 0;
    while (!endless.socket.destroyed && sent <= MAX_PROXY_MESSAGE_BYTES + piece.length) {
      if (!endless.socket.write(piece)) await new Promise((resolve) => endless.socket.once('drain', resolve).once('close', resolve));
      sent += piece.length;
    }
    await endless.closed;
    assert.ok(r.warnings.filter((w) => w === 'push stream message refused').length >= 2, r.warnings.join(', '));
    await r.stop();
  });

  test('a control plane that stops answering pings is left after three, and the proxy connects again', async () => {
    const serving = await issued(ca, CONTROL_ID);
    let connections = 0;
    const pings: string[] = [];
    const mute = tls.createServer({ ...serving, ca: ca.trustBundlePem(), requestCert: true, ALPNProtocols: [PUSH_ALPN] }, (socket) => {
      connections++;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => pings.push(...d.split('\n').filter((l) => l.includes('"ping"'))));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => mute.close(() => r())));
    const clock = new FakeClock();
    const p = await proxy([`https://127.0.0.1:${(mute.address() as AddressInfo).port}`], 'default', clock);
    await until(() => p.control.connected);
    for (let i = 1; i <= 3; i++) {
      clock.fire();
      await until(() => pings.length === i);
    }
    assert.equal(p.control.connected, true, 'two silent intervals are not yet enough');
    clock.fire();
    assert.equal(p.control.connected, false);
    assert.ok(p.warnings.includes('control plane stream lost; serving on the last good config'), p.warnings.join(', '));
    clock.fire();
    await until(() => connections === 2 && p.control.connected);
    p.control.stop();
  });

  test('a proxy that stops reading holds at most one piece in the stream; the line arrives whole once it reads again', async () => {
    const serving = await issued(ca, CONTROL_ID);
    let writer: LineWriter | undefined;
    let serverSocket: tls.TLSSocket | undefined;
    // Far more than loopback's socket buffers hold, so that the writer must wait for the reader.
    const line = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const server = tls.createServer({ ...serving, ALPNProtocols: [PUSH_ALPN] }, (socket) => {
      serverSocket = socket;
      writer = new LineWriter(socket);
      writer.line([line]);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const client = tls.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: ca.trustBundlePem(), ALPNProtocols: [PUSH_ALPN], checkServerIdentity: () => undefined });
    client.pause();
    let received = 0;
    let last = -1;
    await until(() => writer !== undefined && writer.written > 0);
    // Until the handed-over count stops moving: the socket buffers are full and the writer waits for 'drain'.
    for (let same = 0; same < 5; ) {
      await new Promise((r) => setTimeout(r, 20));
      same = writer!.written === last ? same + 1 : 0;
      last = writer!.written;
      assert.ok(serverSocket!.writableLength <= WRITE_PIECE_BYTES, `buffered ${serverSocket!.writableLength}`);
    }
    assert.equal(writer!.idle, false);
    assert.ok(writer!.written < line.length);
    let tail = '';
    client.on('data', (d: Buffer) => {
      received += d.length;
      tail = d.subarray(-1).toString();
    });
    client.resume();
    await until(() => received === line.length + 1);
    assert.equal(tail, '\n');
    await until(() => writer!.idle);
    client.destroy();
  });

  test('when its replica goes, the proxy moves to the next and gets its config there', async () => {
    const [a, b] = [await replica(), await replica()];
    const p = await proxy([a.url, b.url]);
    await until(() => a.push.proxies()[0]?.ackedVersion != null);
    await a.stop();
    await until(() => b.push.proxies()[0]?.ackedVersion != null && p.control.connected);
    assert.equal(b.push.proxies()[0]?.connected, true);
    assert.equal(p.acked.length, 2, 'the whole config again on the new stream');
    p.control.stop();
    await b.stop();
  });
});
