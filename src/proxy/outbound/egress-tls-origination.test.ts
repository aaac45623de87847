/**
 * Istio's egress TLS origination at the sidecar: the app sends plain HTTP to a ServiceEntry host on port 80 whose
 * `targetPort` is the HTTPS port, and a DestinationRule `tls` SIMPLE or MUTUAL makes the sidecar open TLS. The
 * server is an HTTPS server on loopback with a certificate from a CA made here. Table-driven from the
 * ClientTLSSettings reference: the chain verified against caCertificates (a wrong CA, the system roots alone, a
 * revoked certificate: 503 UF with the reason), the name checked against subjectAltNames or else the SNI,
 * insecureSkipVerify, the client certificate presented on MUTUAL, credentialName (unresolved at a sidecar whose
 * rule has no workloadSelector, or its Secret missing: refused, said why).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';
import type { ClientTlsPolicy, ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createOutboundServer } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { TestPki } from '../upstream/test-pki.fixture.js';
import type { TestCa, TestLeaf } from '../upstream/test-pki.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';

const HOST = 'secure.example';
const pki = new TestPki();
let ca: TestCa;
let otherCa: TestCa;
let serverLeaf: TestLeaf;
let clientLeaf: TestLeaf;
let crlRevokingServer: string;
/** What the HTTPS server saw of each request: the SNI, the client certificate's CN, the Host header. */
const seen: Array<{ sni: string | undefined; client: string | undefined; host: string | undefined }> = [];
let server: https.Server;
let httpsPort = 0;

function config(tls: ClientTlsPolicy | undefined): ProxyConfig {
  return sidecarConfig({
    version: 'origination',
    externals: [
      // Istio's task: HTTP on 80, to the server's HTTPS port.
      externalService('default/secure', [HOST], [{ port: 80, name: 'http-port', protocol: 'http', targetPort: httpsPort }], {
        resolution: 'STATIC',
        endpoints: [{ address: '127.0.0.1', ports: {} }],
        ...(tls && { origination: [{ host: HOST, port: 80, tls }] }),
      }),
    ],
  });
}

const simple = (over: Partial<ClientTlsPolicy> = {}): ClientTlsPolicy => ({
  mode: 'SIMPLE',
  sni: null,
  subjectAltNames: [],
  caCertificates: ca.certFile,
  clientCertificate: null,
  privateKey: null,
  credentialName: null,
  insecureSkipVerify: false,
  ...over,
});

interface Outcome {
  status: number;
  body: string;
  entry: AccessLogEntry | undefined;
}

async function through(tls: ClientTlsPolicy | undefined): Promise<Outcome> {
  const entries: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => entries.push(e) } });
  installConfig(rt, acceptProxyConfig(config(tls)));
  const outbound = createOutboundServer(rt);
  const port = await listenOnLoopback(outbound);
  try {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: `http://${HOST}/status/200`, headers: { host: HOST }, agent: false }, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((r) => setImmediate(r));
    return { status, body, entry: entries.at(-1) };
  } finally {
    outbound.close();
    await rt.pools.close();
  }
}

before(async () => {
  ca = await pki.ca('origination-ca');
  otherCa = await pki.ca('other-ca');
  serverLeaf = await pki.leaf(ca, HOST, [HOST], 'server');
  clientLeaf = await pki.leaf(ca, 'sleep-client', [], 'client');
  crlRevokingServer = await pki.crl(ca, [serverLeaf]);
  // Asks for a client certificate without requiring one, so SIMPLE and MUTUAL both connect and the test sees which.
  server = https.createServer({ cert: serverLeaf.certPem, key: serverLeaf.keyPem, ca: ca.cert.toString('pem'), requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as tls.TLSSocket;
    const peer = socket.getPeerCertificate();
    seen.push({ sni: (socket as unknown as { servername?: string }).servername, client: peer.subject?.CN as string | undefined, host: req.headers.host });
    res.end('secure hello');
  });
  httpsPort = await listenOnLoopback(server as unknown as net.Server);
});
after(() => {
  server.close();
  pki.remove();
});

describe('DestinationRule tls SIMPLE and MUTUAL toward a ServiceEntry host', () => {
  test('SIMPLE with the right CA: the plain request arrives over TLS, SNI and Host are the entry host, no client certificate', async () => {
    const r = await through(simple());
    assert.equal(r.status, 200);
    assert.equal(r.body, 'secure hello');
    assert.deepEqual(seen.at(-1), { sni: HOST, client: undefined, host: HOST });
  });
  test('MUTUAL presents the client certificate', async () => {
    const r = await through(simple({ mode: 'MUTUAL', clientCertificate: clientLeaf.certFile, privateKey: clientLeaf.keyFile }));
    assert.equal(r.status, 200);
    assert.equal(seen.at(-1)?.client, 'sleep-client');
  });
  const ok: Array<[string, () => Partial<ClientTlsPolicy>]> = [
    ['subjectAltNames naming the server', () => ({ subjectAltNames: ['other.example', HOST] })],
    ['insecureSkipVerify without a CA', () => ({ caCertificates: null, insecureSkipVerify: true })],
    ['insecureSkipVerify with a certificate for another name', () => ({ caCertificates: null, insecureSkipVerify: true, sni: 'elsewhere.example' })],
  ];
  for (const [name, over] of ok) {
    test(`accepted: ${name}`, async () => {
      const r = await through(simple(over()));
      assert.equal(r.status, 200, r.body);
    });
  }
  test('sni sets the server name sent', async () => {
    await through(simple({ sni: 'named.example', subjectAltNames: [HOST] }));
    assert.equal(seen.at(-1)?.sni, 'named.example');
  });
  const refused: Array<[string, () => Partial<ClientTlsPolicy>, RegExp]> = [
    ['a CA that did not sign the server', () => ({ caCertificates: otherCa.certFile }), /TLS origination to secure\.example failed: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)/],
    ['no caCertificates: the system roots do not know the test CA', () => ({ caCertificates: null }), /TLS origination to secure\.example failed/],
    ['subjectAltNames the certificate lacks', () => ({ subjectAltNames: ['wrong.example'] }), /none of the subjectAltNames wrong\.example/],
    ['an sni the certificate does not name (auto SAN check)', () => ({ sni: 'other.example' }), /TLS origination to other\.example failed: .*(ERR_TLS_CERT_ALTNAME_INVALID|altnames)/i],
    ['caCrl revoking the server certificate', () => ({ caCrl: crlRevokingServer }), /CERT_REVOKED|revoked/],
    ['a caCrl file that is not a CRL', () => ({ caCrl: ca.certFile }), /TLS origination to secure\.example failed: .*CRL/],
    ['a caCertificates file that does not exist', () => ({ caCertificates: `${pki.dir}/missing.pem` }), /cannot read caCertificates .*missing\.pem \(ENOENT\)/],
    // Istio's sidecars keep the file fields unless a workloadSelector chose the rule: here there are none.
    ['credentialName unresolved at a sidecar: MUTUAL has no client certificate', () => ({ mode: 'MUTUAL', caCertificates: null, credentialName: 'client-credential' }), /MUTUAL needs clientCertificate and privateKey \(credentialName applies at a sidecar only when/],
    ['credentialName whose Secret is missing', () => ({ caCertificates: null, credentialName: 'gone', credential: { secret: 'default/gone', problem: 'Secret default/gone not found' } }), /credentialName default\/gone: Secret default\/gone not found/],
  ];
  for (const [name, over, reason] of refused) {
    test(`refused, 503 UF with the reason: ${name}`, async () => {
      const r = await through(simple(over()));
      assert.equal(r.status, 503);
      assert.match(r.body, reason);
      assert.equal(r.entry?.responseFlags, 'UF');
      assert.match(r.entry?.reason ?? '', reason);
    });
  }
  test('no origination: the sidecar sends plain HTTP, which the TLS port does not answer with 200', async () => {
    const r = await through(undefined);
    assert.notEqual(r.status, 200);
  });
});
