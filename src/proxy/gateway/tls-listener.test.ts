/**
 * The gateway's TLS and TCP ports, for real sockets on loopback: the edge hardening Istio's gateways give (TLS below
 * 1.2, unknown or missing SNI, a trickled or oversized ClientHello, foreign or unlisted client certificates) and
 * PASSTHROUGH and TCP routes to a backend.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { createRootCa } from '../../identity/root-ca.js';
import type { GatewayChain } from '../../proxyconfig/types.js';
import type { ServerTlsConfig } from '../../proxyconfig/gateway-types.js';
import { BACKEND, gatewayConfig as config, serverTls } from './gateway-config.fixture.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { TestCa } from './test-certificates.fixture.js';
import { createGatewayListeners } from './index.js';
import type { GatewayListeners } from './index.js';

const toBackend = [{ source: 'default/vs#0', match: [], destinations: [{ host: BACKEND, port: 443, weight: 100 }] }];

/** The outcome of one client handshake: the server's CN and the echo of `hello`, or the error. */
function handshake(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
      const cn = s.getPeerX509Certificate()?.subject.split('\n').find((l) => l.startsWith('CN=')) ?? '?';
      s.write('hello');
      s.once('data', (d: Buffer) => {
        resolve(`${cn} ${d.toString()}`);
        s.destroy();
      });
    });
    s.once('error', (e) => resolve(`error: ${e.message}`));
    s.once('close', () => resolve('closed'));
  });
}

/** Sends `bytes` and reports how the gateway ended the connection. */
function rawClose(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    s.on('data', () => undefined);
    s.once('close', () => resolve('closed'));
    s.once('error', () => undefined);
  });
}

describe('gateway TLS and TCP ports', async () => {
  const server = await createRootCa({ now: Date.now() });
  const clientCa = await TestCa.create('client CA');
  const otherCa = await TestCa.create('other CA');
  const client = await clientCa.leaf('client.example.com');
  const sibling = await clientCa.leaf('sibling.example.com');
  const foreign = await otherCa.leaf('client.example.com');
  const backendCert = await createRootCa({ now: Date.now(), trustDomain: 'backend.example' });
  const log: AccessLogEntry[] = [];
  let gateway: GatewayListeners;
  let backendTls: tls.Server;
  let backendTcp: net.Server;
  const ports: Record<string, number> = {};

  before(async () => {
    // The backends echo: a TLS server of its own (for PASSTHROUGH) and a TCP echo.
    backendTls = tls.createServer({ key: backendCert.keyPem, cert: backendCert.certPem }, (s) => s.on('data', (d) => s.write(`backend:${String(d)}`)));
    backendTcp = net.createServer((s) => s.on('data', (d) => s.write(`tcp:${String(d)}`)));
    await new Promise<void>((r) => backendTls.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => backendTcp.listen(0, '127.0.0.1', r));
    const tlsPort = (backendTls.address() as net.AddressInfo).port;
    const tcpPort = (backendTcp.address() as net.AddressInfo).port;
    const rt = testRuntime({ telemetry: { record: (e) => log.push(e) } });
    const clientHash = createHash('sha256').update(new X509Certificate(client.certPem).raw).digest('hex');
    const terminatedTcp = (name: string, sni: string, t: ServerTlsConfig): GatewayChain => ({ server: name, sniHosts: [sni], tls: t, tcp: toBackend });
    const cfgFor = (backend: number) => config(backend, [
      {
        port: 10443, protocol: 'TLS',
        chains: [
          terminatedTcp('simple', 'simple.example.com', serverTls(server)),
          terminatedTcp('optional', 'optional.example.com', serverTls(server, { mode: 'OPTIONAL_MUTUAL', clientCa: { secret: 's/ca', pem: clientCa.certPem } })),
          terminatedTcp('pinned', 'pinned.example.com', serverTls(server, { mode: 'MUTUAL', clientCa: { secret: 's/ca', pem: clientCa.certPem }, verifyCertificateHash: [clientHash] })),
          terminatedTcp('named', 'named.example.com', serverTls(server, { mode: 'MUTUAL', clientCa: { secret: 's/ca', pem: clientCa.certPem }, subjectAltNames: ['client.example.com'] })),
          { server: 'pass', sniHosts: ['pass.example.com'], tlsRoutes: toBackend },
        ],
      },
      { port: 10444, protocol: 'TCP', chains: [{ server: 'tcp', sniHosts: ['*'], tcp: toBackend }] },
    ]);
    // TLS and terminated-TLS chains reach the TCP echo; the passthrough chain's backend is the TLS one.
    const cfg = cfgFor(tcpPort);
    cfg.gateway!.servers[0]!.chains![4]!.tlsRoutes = [{ ...toBackend[0]!, destinations: [{ host: 'pass-backend.default.svc.cluster.local', port: 443, weight: 100 }] }];
    cfg.outbound.services.push({ ...cfg.outbound.services[0]!, host: 'pass-backend.default.svc.cluster.local', ports: [{ ...cfg.outbound.services[0]!.ports[0]!, endpoints: [{ ...cfg.outbound.services[0]!.ports[0]!.endpoints[0]!, targetPort: tlsPort }] }] });
    const compiled = acceptProxyConfig(cfg);
    installConfig(rt, compiled);
    gateway = createGatewayListeners(rt, '127.0.0.1', new Map([[10443, 0], [10444, 0]]), 300);
    await gateway.reconcile(compiled);
    for (const [k, v] of Object.entries(gateway.addresses())) ports[k] = Number(v.split(':').pop());
  });
  after(async () => {
    await gateway?.close();
    backendTls?.close();
    backendTcp?.close();
  });

  test('TLS terminated for the server the SNI names, then its tcp route', async () => {
    assert.equal(await handshake(ports['10443']!, { servername: 'simple.example.com' }), 'CN=weft root CA tcp:hello');
  });

  test('PASSTHROUGH: the backend\'s own certificate and bytes, untouched', async () => {
    const got = await handshake(ports['10443']!, { servername: 'pass.example.com' });
    assert.equal(got, 'CN=weft root CA backend:hello');
  });

  test('TCP server: its tcp route, no TLS', async () => {
    const got = await new Promise<string>((resolve) => {
      const s = net.connect(ports['10444']!, '127.0.0.1', () => s.write('hi'));
      s.once('data', (d) => {
        resolve(String(d));
        s.destroy();
      });
    });
    assert.equal(got, 'tcp:hi');
  });

  test('TLS below 1.2 is refused by default', async () => {
    const got = await handshake(ports['10443']!, { servername: 'simple.example.com', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    assert.match(got, /^error: .*(protocol version|unsupported protocol|no protocols available|wrong version)/i);
  });

  test('an unknown SNI and a hello without SNI find no server and are closed', async () => {
    for (const servername of ['other.example.com', '']) {
      const got = await handshake(ports['10443']!, servername === '' ? {} : { servername });
      assert.match(got, /^(closed|error: .*(socket disconnected|ECONNRESET))/);
    }
    assert.ok(log.some((e) => e.reason === 'no server for SNI other.example.com'));
    assert.ok(log.some((e) => e.reason === 'no SNI and no server for "*"'));
  });

  test('OPTIONAL_MUTUAL: served without a client certificate, refused with a foreign one', async () => {
    assert.equal(await handshake(ports['10443']!, { servername: 'optional.example.com' }), 'CN=weft root CA tcp:hello');
    assert.equal(await handshake(ports['10443']!, { servername: 'optional.example.com', cert: client.certPem, key: client.keyPem }), 'CN=weft root CA tcp:hello');
    assert.match(await handshake(ports['10443']!, { servername: 'optional.example.com', cert: foreign.certPem, key: foreign.keyPem }), /^(closed|error)/);
  });

  test('MUTUAL with verifyCertificateHash: a certificate of the trusted CA but not the pinned one is refused', async () => {
    assert.equal(await handshake(ports['10443']!, { servername: 'pinned.example.com', cert: client.certPem, key: client.keyPem }), 'CN=weft root CA tcp:hello');
    assert.match(await handshake(ports['10443']!, { servername: 'pinned.example.com', cert: sibling.certPem, key: sibling.keyPem }), /^(closed|error)/);
    assert.ok(log.some((e) => e.reason === 'client certificate is not in verifyCertificateHash'));
    assert.match(await handshake(ports['10443']!, { servername: 'pinned.example.com' }), /^(closed|error)/);
  });

  test('MUTUAL with subjectAltNames: a sibling certificate of the same CA is refused, a foreign one too', async () => {
    assert.equal(await handshake(ports['10443']!, { servername: 'named.example.com', cert: client.certPem, key: client.keyPem }), 'CN=weft root CA tcp:hello');
    assert.match(await handshake(ports['10443']!, { servername: 'named.example.com', cert: sibling.certPem, key: sibling.keyPem }), /^(closed|error)/);
    assert.ok(log.some((e) => e.reason === 'client certificate has none of the subjectAltNames'));
    assert.match(await handshake(ports['10443']!, { servername: 'named.example.com', cert: foreign.certPem, key: foreign.keyPem }), /^(closed|error)/);
  });

  test('a trickled ClientHello (slowloris) is cut off at the handshake timeout', async () => {
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80, 0x01]);
    assert.equal(await rawClose(ports['10443']!, hello), 'closed');
  });

  test('an oversized ClientHello is refused without waiting for it', async () => {
    // A handshake header claiming 70 000 bytes (over the 64 KiB Envoy's tls_inspector reads).
    const hello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x11, 0x70]);
    assert.equal(await rawClose(ports['10443']!, hello), 'closed');
    assert.ok(log.some((e) => e.reason === 'malformed or oversized ClientHello'));
    assert.equal(await rawClose(ports['10443']!, Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'closed');
  });
});
