/**
 * DestinationRule `proxyProtocol` on pooled upstream connections (real sockets on loopback, the header read strictly
 * by test/support/proxy-protocol-server.ts before the HTTP server sees the bytes): an HTTP/1.1 pool and HTTP/2
 * sessions keep connections per client connection, each starting with that client's header, and close them with
 * it; a pool without a client names its own ends; a cluster without the setting sends none; TLS the proxy
 * originates starts after the header.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import { readProxyHeaders } from '../../../test/support/proxy-protocol-server.js';
import type { ReceivedConnection } from '../../../test/support/proxy-protocol-server.js';
import { H2SessionPools } from '../http2/h2-session-pool.js';
import type { H2EndpointPool } from '../http2/h2-session-pool.js';
import { callThroughPool } from '../http2/h2-pool-call.fixture.js';
import { EndpointPools } from './endpoint-pools.js';
import { httpPoolSettings } from './pool-settings.js';
import type { UpstreamTarget } from './upstream-target.js';
import { proxiedConnection } from './proxy-protocol.js';
import type { ProxiedConnection, ProxyProtocolVersion } from './proxy-protocol.js';
import { connectOriginating } from './tls-origination.js';
import { TestPki } from './test-pki.fixture.js';

const policy = { connectTimeoutMs: 5_000, httpIdleTimeoutMs: 3_600_000, maxRequestsPerConnection: 0, maxConnectionDurationMs: 0, tcpKeepalive: null, maxConcurrentStreams: 0 };
const settings = (version: ProxyProtocolVersion | null) => httpPoolSettings(policy, version);

/** A client connection as the proxy sees it: an emitter that closes, with the two ends a PROXY header names. */
function client(sourcePort: number, destinationAddress = '198.19.0.9'): ProxiedConnection & { close(): void } {
  const connection = new EventEmitter();
  const p = proxiedConnection(connection, { remoteAddress: '127.0.0.1', remotePort: sourcePort }, destinationAddress, 8080);
  return { ...p, close: () => connection.emit('close') };
}

/** A server behind a header reader: each connection's header, then the bytes after it handed to `serve`. */
async function behindReader(serve: (c: ReceivedConnection) => void): Promise<{ target: UpstreamTarget; received: ReceivedConnection[]; errors: Error[]; close(): void }> {
  const reader = readProxyHeaders(serve);
  await new Promise<void>((r) => reader.server.listen(0, '127.0.0.1', r));
  const port = (reader.server.address() as net.AddressInfo).port;
  return {
    target: { address: '127.0.0.1', port },
    received: reader.received,
    errors: reader.errors,
    close: () => {
      for (const c of reader.received) c.socket.destroy();
      reader.server.close();
    },
  };
}

describe('HTTP/1.1 pools', () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  let upstream: Awaited<ReturnType<typeof behindReader>>;
  const pools = new EndpointPools(undefined);
  before(async () => {
    upstream = await behindReader((c) => server.emit('connection', c.socket));
  });
  after(async () => {
    await pools.close();
    upstream.close();
    server.closeAllConnections();
  });
  const get = async (version: ProxyProtocolVersion | null, c?: ProxiedConnection): Promise<void> => {
    const res = await pools.get(upstream.target, settings(version), c).request({ path: '/', method: 'GET' });
    assert.equal(await res.body.text(), 'ok');
  };

  test("each client connection gets connections of its own, each starting with that client's header; they close with it", async () => {
    const a = client(40001);
    const b = client(40002);
    const start = upstream.received.length;
    await get('V1', a);
    await get('V1', a);
    await get('V1', b);
    const seen = upstream.received.slice(start);
    const header = (sourcePort: number) => ({ version: 1, command: 'PROXY', family: 'TCP4', source: '127.0.0.1', sourcePort, destination: '198.19.0.9', destinationPort: 8080 });
    // Every connection carries one client's header, and b's request did not ride a connection opened for a.
    assert.deepEqual(seen.at(-1)!.header, header(40002));
    const ofA = seen.slice(0, -1);
    assert.ok(ofA.length >= 1);
    for (const c of ofA) assert.deepEqual(c.header, header(40001));
    await Promise.all([...ofA.map((c) => once(c.socket, 'close')), Promise.resolve(a.close())]);
    assert.equal(seen.at(-1)!.socket.destroyed, false, "b's connection stays");
    assert.deepEqual(upstream.errors, []);
  });

  test('V2 the same; a call with no client connection names the upstream connection\'s own ends', async () => {
    const start = upstream.received.length;
    await get('V2');
    const h = upstream.received[start]!.header;
    assert.ok(h !== null && h.command === 'PROXY');
    assert.equal(h.version, 2);
    assert.equal(h.destinationPort, upstream.target.port);
    assert.equal(h.sourcePort, upstream.received[start]!.socket.remotePort);
  });

  test('a cluster without the setting sends no header, whatever client is passed', async () => {
    const start = upstream.received.length;
    await get(null, client(40003));
    assert.equal(upstream.received.length, start + 1);
    assert.equal(upstream.received[start]!.header, null);
  });
});

describe('HTTP/2 sessions', () => {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  let upstream: Awaited<ReturnType<typeof behindReader>>;
  before(async () => {
    upstream = await behindReader((c) => server.emit('connection', c.stream()));
  });
  after(() => upstream.close());

  const call = async (pool: H2EndpointPool): Promise<void> => void (await callThroughPool(pool));

  test("a client connection's sessions start with its header and are its own; they close with it", async () => {
    const pools = new H2SessionPools(undefined);
    const a = client(41001);
    const b = client(41002, '2001:db8::5');
    const start = upstream.received.length;
    await call(pools.get(upstream.target, settings('V2'), a));
    await call(pools.get(upstream.target, settings('V2'), a));
    await call(pools.get(upstream.target, settings('V2'), b));
    const seen = upstream.received.slice(start);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[0]!.header, { version: 2, command: 'PROXY', family: 'TCP4', source: '127.0.0.1', sourcePort: 41001, destination: '198.19.0.9', destinationPort: 8080 });
    // Mixed families go as IPv6, the IPv4 address mapped.
    assert.deepEqual(seen[1]!.header, { version: 2, command: 'PROXY', family: 'TCP6', source: '::ffff:127.0.0.1', sourcePort: 41002, destination: '2001:db8::5', destinationPort: 8080 });
    const closed = once(seen[0]!.socket, 'close');
    a.close();
    await closed;
    b.close();
    assert.deepEqual(upstream.errors, []);
  });

  test('without the setting: shared sessions, no header', async () => {
    const pools = new H2SessionPools(undefined);
    const start = upstream.received.length;
    await call(pools.get(upstream.target, settings(null), client(41003)));
    await call(pools.get(upstream.target, settings(null), client(41004)));
    assert.deepEqual(upstream.received.slice(start).map((c) => c.header), [null]);
    for (const c of upstream.received.slice(start)) c.socket.destroy();
  });
});

describe('TLS the proxy originates', () => {
  const pki = new TestPki();
  let upstream: Awaited<ReturnType<typeof behindReader>>;
  let caFile = '';
  before(async () => {
    const ca = await pki.ca('pp-ca');
    caFile = ca.certFile;
    const leaf = await pki.leaf(ca, 'db.example.test', ['db.example.test'], 'server');
    const context = tls.createSecureContext({ cert: leaf.certPem, key: leaf.keyPem });
    upstream = await behindReader((c) => {
      const t = new tls.TLSSocket(c.stream() as net.Socket, { isServer: true, secureContext: context });
      t.on('error', () => t.destroy());
      t.on('data', (d: Buffer) => t.write(`tls ${d.toString('latin1')}`));
    });
  });
  after(() => {
    upstream.close();
    pki.remove();
  });

  test('the header goes first, the handshake after it, verified as usual', async () => {
    const tlsPolicy = { mode: 'SIMPLE' as const, sni: null, subjectAltNames: [], caCertificates: caFile, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false };
    const c = client(42001);
    const socket = await new Promise<net.Socket>((resolve, reject) =>
      connectOriginating(tlsPolicy, { ...upstream.target, host: 'db.example.test' }, 5_000, (err, s) => (err || !s ? reject(err) : resolve(s)), undefined, c.header('V1')),
    );
    socket.write('hi');
    const [reply] = (await once(socket, 'data')) as [Buffer];
    assert.equal(reply.toString('latin1'), 'tls hi');
    assert.equal(upstream.received.at(-1)?.header?.command, 'PROXY');
    socket.destroy();
  });
});
