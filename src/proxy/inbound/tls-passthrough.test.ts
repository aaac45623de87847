/**
 * An app's own TLS through the inbound listener, as Istio passes it: untouched under DISABLE, and under PERMISSIVE
 * when the ClientHello is not mesh mTLS; STRICT still refuses it. Mesh mTLS (Istio's SNI, a mesh certificate) is
 * still terminated by the sidecar. The app is a real TLS server with a certificate from its own CA; its clients
 * trust only that CA, so a completed handshake proves the bytes reached the app untouched. Checked on a captured
 * listener (the port the caller dialled is known) and in loopback mode (a pod with one app port).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import type { InboundConfig, PeerAuthnMode, ProxyConfig } from '../../proxyconfig/types.js';
import { systemClock } from '../../clock.js';
import { CertificateAuthority } from '../../identity/ca.js';
import { createRootCa } from '../../identity/root-ca.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { WorkloadCertificate } from '../tls/workload-certificate.js';
import { createInboundListener } from './index.js';
import { replaySocket } from './replay-socket.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';

const APP_ID = 'spiffe://example.org/ns/default/sa/db';
const CALLER_ID = 'spiffe://example.org/ns/default/sa/sleep';
const MESH_SNI = 'outbound_.5432_._.db.default.svc.cluster.local';
const WAIT_MS = 5_000;

let appCaPem = '';
let appTls: tls.Server;
/** The app: TLS with its own certificate (says `app tls <servername>`), or plaintext (echoes `app plain: ...`). */
const app = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.once('data', (chunk: Buffer) => {
    if (chunk[0] !== 0x16) {
      socket.end(`app plain: ${chunk.toString()}`);
      return;
    }
    socket.pause();
    appTls.emit('connection', replaySocket(socket, chunk));
  });
});
let appConnections = 0;
app.on('connection', () => appConnections++);
let appPort = 0;
let otherPort = 0;
let meshServer: WorkloadCertificate;
let meshClient: WorkloadCertificate;
const entries: AccessLogEntry[] = [];
let rt: ProxyRuntime;
let captured: net.Server;
let loopback: net.Server;
const ports = { captured: 0, loopback: 0 };

/** The app's port in `mode`; `other` adds a second, PERMISSIVE, port (so STRICT is not everywhere). */
function config(mode: PeerAuthnMode, other = false, protocol: 'tcp' | 'http' = 'tcp'): ProxyConfig {
  const appPorts: InboundConfig['ports'] = [{ port: appPort, name: `${protocol}-db`, protocol, mode }];
  if (other) appPorts.push({ port: otherPort, name: 'tcp-other', protocol: 'tcp', mode: 'PERMISSIVE' });
  return {
    schema: 3,
    version: `${mode}-${String(other)}-${protocol}`,
    proxy: { role: 'sidecar', namespace: 'default', name: 'db', spiffeId: APP_ID, labels: {} },
    trustDomain: 'example.org',
    inbound: { defaultMode: mode, ports: appPorts, servicePorts: [{ host: 'db.default.svc.cluster.local', port: 5432, targetPort: appPort }] },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

/** Resolves with the first line the other end sent, or `error: <message>` / `closed` when the handshake or read fails. */
function firstLine(socket: tls.TLSSocket, send?: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.setTimeout(WAIT_MS, () => socket.destroy(new Error('timeout')));
    socket.once('secureConnect', () => {
      if (send !== undefined) socket.write(send);
    });
    socket.on('data', (c: Buffer) => {
      got += c.toString();
      if (got.includes('\n') || got.startsWith('app plain')) {
        resolve(got.trim());
        socket.destroy();
      }
    });
    socket.once('error', (err) => resolve(`error: ${err.message}`));
    socket.once('close', () => resolve(got === '' ? 'closed' : got.trim()));
  });
}

/** A client of the app's own TLS: trusts only the app's CA, sends `servername` (none when undefined). */
function appTlsClient(port: number, servername: string | undefined): Promise<string> {
  return firstLine(tls.connect({ host: '127.0.0.1', port, ca: appCaPem, checkServerIdentity: () => undefined, ...(servername ? { servername } : {}) }));
}

/** A mesh caller: Istio's SNI and a mesh certificate, then plaintext inside the tunnel. */
function meshClientCall(port: number): Promise<string> {
  return firstLine(tls.connect({ host: '127.0.0.1', port, servername: MESH_SNI, secureContext: meshClient.current.clientContext, rejectUnauthorized: false }), 'hello\n');
}

/**
 * The first access-log entry after the first `count` that `wanted` accepts, waited for a bounded time (connections
 * are logged when they close, so an earlier test's line may come in between).
 */
async function entryAfter(count: number, wanted: (e: AccessLogEntry) => boolean): Promise<AccessLogEntry> {
  for (let i = 0; i < 100 && !entries.slice(count).some(wanted); i++) await new Promise((r) => setTimeout(r, 20));
  const e = entries.slice(count).find(wanted);
  assert.ok(e, 'no such access-log entry');
  return e;
}

before(async () => {
  const meshCa = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now() - 60_000, trustDomain: 'example.org' }), { clock: () => Date.now() });
  const appCa = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now() - 60_000, trustDomain: 'app.example' }), { clock: () => Date.now() });
  const issue = async (ca: CertificateAuthority, id: string): Promise<WorkloadCertificate> => {
    const wc = new WorkloadCertificate(id, systemClock, () => undefined);
    await wc.issue(async (csr) => ({ certChainPem: [(await ca.signCsr(csr, { spiffeId: id, ttlMs: 3_600_000 })).certPem], trustBundlePem: [ca.trustBundlePem()] }));
    return wc;
  };
  meshServer = await issue(meshCa, APP_ID);
  meshClient = await issue(meshCa, CALLER_ID);
  const appCert = await issue(appCa, 'spiffe://app.example/own-tls');
  appCaPem = appCa.trustBundlePem();
  appTls = tls.createServer({ key: appCert.current.keyPem, cert: appCert.current.certChainPem.join('\n') }, (s) => {
    s.on('error', () => undefined);
    s.end(`app tls ${typeof s.servername === 'string' ? s.servername : '-'}\n`);
  });
  appPort = await listenOnLoopback(app);
  const other = net.createServer();
  otherPort = await listenOnLoopback(other);
  other.close();
  rt = testRuntime({
    cert: meshServer,
    telemetry: { record: (e) => void entries.push(e) },
  });
  captured = createInboundListener(rt, () => appPort).server;
  ports.captured = await listenOnLoopback(captured);
  loopback = createInboundListener(rt).server;
  ports.loopback = await listenOnLoopback(loopback);
});
after(async () => {
  captured.close();
  loopback.close();
  app.close();
  await rt.pools.close();
});

for (const listener of ['captured', 'loopback'] as const) {
  describe(`an app's own TLS through the inbound listener (${listener})`, () => {
    for (const [mode, protocol] of [['DISABLE', 'http'], ['DISABLE', 'tcp'], ['PERMISSIVE', 'http'], ['PERMISSIVE', 'tcp']] as const) {
      test(`${mode} ${protocol} port: the app's TLS reaches the app untouched, with or without a server name`, async () => {
        rt.config = acceptProxyConfig(config(mode, false, protocol));
        const before = entries.length;
        assert.equal(await appTlsClient(ports[listener], 'db.example'), 'app tls db.example');
        const e = await entryAfter(before, (x) => x.peer === undefined);
        assert.deepEqual([e.direction, e.method, e.authority, e.status], ['inbound', 'TCP', `127.0.0.1:${appPort}`, 200]);
        assert.equal(await appTlsClient(ports[listener], undefined), 'app tls -');
      });
    }

    test('PERMISSIVE: mesh mTLS is still terminated by the sidecar; the app gets plaintext and the log the peer', async () => {
      rt.config = acceptProxyConfig(config('PERMISSIVE'));
      const before = entries.length;
      assert.equal(await meshClientCall(ports[listener]), 'app plain: hello');
      // A connection is logged when it closes.
      const e = await entryAfter(before, (x) => x.peer === CALLER_ID);
      assert.deepEqual([e.direction, e.method, e.authority, e.status], ['inbound', 'TCP', `127.0.0.1:${appPort}`, 200]);
    });

    test('STRICT (another port PERMISSIVE): the app\'s TLS meets the mesh certificate and never the app', async () => {
      rt.config = acceptProxyConfig(config('STRICT', true));
      const before = appConnections;
      const got = await appTlsClient(ports.captured, 'db.example');
      assert.match(got, /^error: /);
      assert.equal(appConnections, before);
      assert.equal(await meshClientCall(ports.captured), 'app plain: hello');
    });
  });
}

describe('DISABLE with a mesh SNI', () => {
  test('is passed through too: DISABLE terminates nothing, so the mesh client meets the app\'s certificate', async () => {
    rt.config = acceptProxyConfig(config('DISABLE', false, 'http'));
    const got = await firstLine(tls.connect({ host: '127.0.0.1', port: ports.captured, servername: MESH_SNI, ca: appCaPem, checkServerIdentity: () => undefined }));
    assert.equal(got, `app tls ${MESH_SNI}`);
  });
});
