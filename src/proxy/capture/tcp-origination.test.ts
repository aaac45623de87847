/**
 * TLS origination for opaque TCP: the app's plain bytes to a ServiceEntry TCP port, captured, leave over TLS when a
 * DestinationRule says SIMPLE for the entry's host (a database reached over TLS that the app speaks in plain). The
 * server is a TLS echo server on loopback with a certificate from a CA made here; a wrong CA closes the
 * connection and logs 503 UF with the reason; an app that speaks TLS itself is passed through untouched.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import type { ClientTlsPolicy, ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createCaptureListener } from './capture-listener.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { TestPki } from '../upstream/test-pki.fixture.js';
import type { TestCa } from '../upstream/test-pki.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';

const HOST = 'db.example';
const ENTRY_ADDRESS = '203.0.113.7';
const pki = new TestPki();
let ca: TestCa;
let otherCa: TestCa;
let server: tls.Server;
let tlsPort = 0;

function config(policy: ClientTlsPolicy): ProxyConfig {
  return sidecarConfig({
    version: 'tcp-origination',
    workload: 'app',
    externals: [
      externalService('default/db', [HOST], [{ port: 5432, name: 'tcp-db', protocol: 'tcp', targetPort: tlsPort }], {
        addresses: [ENTRY_ADDRESS],
        resolution: 'STATIC',
        endpoints: [{ address: '127.0.0.1', ports: {} }],
        origination: [{ host: HOST, port: 5432, tls: policy }],
      }),
    ],
  });
}

const simple = (caFile: string): ClientTlsPolicy => ({ mode: 'SIMPLE', sni: null, subjectAltNames: [], caCertificates: caFile, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false });

async function captured(policy: ClientTlsPolicy, send: (port: number) => net.Socket): Promise<{ reply: string; entries: AccessLogEntry[] }> {
  const entries: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => entries.push(e) } });
  installConfig(rt, acceptProxyConfig(config(policy)));
  const capture = createCaptureListener(rt, { lookup: () => ({ address: ENTRY_ADDRESS, port: 5432 }), firstBytesWaitMs: 200 });
  const port = await listenOnLoopback(capture);
  try {
    const reply = await new Promise<string>((resolve) => {
      const s = send(port);
      let got = '';
      s.on('error', () => resolve(got));
      s.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.endsWith('\n')) {
          s.destroy();
          resolve(got);
        }
      });
      s.on('close', () => resolve(got));
    });
    return { reply, entries };
  } finally {
    capture.close();
  }
}

const plain = (port: number): net.Socket => {
  const s = net.connect(port, '127.0.0.1', () => s.write('ping\n'));
  return s;
};

before(async () => {
  ca = await pki.ca('db-ca');
  otherCa = await pki.ca('not-db-ca');
  const leaf = await pki.leaf(ca, HOST, [HOST], 'server');
  server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (s) => {
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => s.write(`tls-echo sni=${(s as unknown as { servername?: string }).servername ?? ''} ${d.toString()}`));
  });
  tlsPort = await listenOnLoopback(server as unknown as net.Server);
});
after(() => {
  server.close();
  pki.remove();
});

test('plain bytes from the app reach the TLS server over TLS the sidecar opened, SNI the entry host', async () => {
  const r = await captured(simple(ca.certFile), plain);
  assert.equal(r.reply, `tls-echo sni=${HOST} ping\n`);
});

test('a CA that did not sign the server: closed, 503 UF with the reason', async () => {
  const r = await captured(simple(otherCa.certFile), plain);
  assert.equal(r.reply, '');
  const e = r.entries.at(-1);
  assert.equal(e?.status, 503);
  assert.equal(e?.responseFlags, 'UF');
  assert.match(e?.reason ?? '', /TLS origination to db\.example failed/);
});

test('an app that speaks TLS itself is passed through, not wrapped again', async () => {
  const r = await captured(simple(otherCa.certFile), (port) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: HOST, ca: ca.cert.toString('pem') }, () => s.write('hello\n'));
    return s;
  });
  assert.equal(r.reply, `tls-echo sni=${HOST} hello\n`);
});
