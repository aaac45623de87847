/**
 * HTTP/2 and gRPC from the app to hosts outside the mesh, through the client sidecar's per-stream chain: a
 * ServiceEntry port of protocol HTTP2 or GRPC is reached over HTTP/2 (h2c), or over TLS the sidecar originates with
 * ALPN h2 when a DestinationRule says SIMPLE; an HTTP port over HTTP/1.1; a host without a ServiceEntry is refused.
 * Loopback servers stand in for the external hosts (a real gRPC server, a node:http2 server, an h2 TLS server with a
 * certificate from a CA made here, and an HTTPS server that speaks only HTTP/1.1).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { ClientTlsPolicy, ExternalService, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createOutboundListener } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { TestPki } from '../upstream/test-pki.fixture.js';
import type { TestCa, TestLeaf } from '../upstream/test-pki.fixture.js';
import { PEER_WORKLOAD_HEADER } from '../telemetry/peer-table.js';
import { compileTrafficPolicy } from '../../control/compile/cluster-policy.js';
import { echoService, startEchoServer } from '../../../examples/grpc-echo/echo-server.js';
import type { EchoReply, EchoRequest, EchoServer } from '../../../examples/grpc-echo/echo-server.js';

const H2C_HOST = 'h2c.example';
const TLS_HOST = 'secure-h2.example';
const H1_ONLY_HOST = 'h1-only.example';
const GRPC_HOST = 'grpc.example';
const WEB_HOST = 'web.example';
/** The h2c stand-in again, under a DestinationRule with `maxRequestsPerConnection: 1`. */
const ONCE_HOST = 'h2c-once.example';

const pki = new TestPki();
let ca: TestCa;
let leaf: TestLeaf;

interface Seen {
  scheme: string | undefined;
  authority: string | undefined;
  path: string | undefined;
  peerHeader: boolean;
  sni?: string | undefined;
  alpn?: string | false | undefined;
  trailers?: http2.IncomingHttpHeaders;
}
const seen: Seen[] = [];

function answer(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, extra: Partial<Seen>): void {
  stream.on('error', () => undefined);
  const rec: Seen = { scheme: headers[':scheme'], authority: headers[':authority'], path: headers[':path'], peerHeader: headers[PEER_WORKLOAD_HEADER] !== undefined, ...extra };
  stream.once('trailers', (t) => (rec.trailers = t));
  stream.resume();
  stream.once('end', () => {
    seen.push(rec);
    stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'x-upstream': 'done' }));
    stream.end(`hello from ${rec.authority ?? ''}`);
  });
}

const h2c = http2.createServer();
h2c.on('stream', (s, h) => answer(s, h, {}));
let h2cPort = 0;
let h2Tls: http2.Http2SecureServer;
let h2TlsPort = 0;
let h1Only: tls.Server;
let h1OnlyPort = 0;
const web = http.createServer((req, res) => res.end(`${req.httpVersion} ${req.headers.host ?? ''}`));
let webPort = 0;
let grpcServer: EchoServer;

const simple = (): ClientTlsPolicy => ({ mode: 'SIMPLE', sni: null, subjectAltNames: [], caCertificates: ca.certFile, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false });

function entry(host: string, port: number, protocol: 'http' | 'http2' | 'grpc', targetPort: number, origination?: ClientTlsPolicy): ExternalService {
  return {
    source: `default/${host}`,
    namespace: 'default',
    hosts: [host],
    addresses: [],
    dns: [],
    ports: [{ port, name: `${protocol}-port`, protocol, targetPort }],
    location: 'MESH_EXTERNAL',
    resolution: 'STATIC',
    endpoints: [{ address: '127.0.0.1', ports: {} }],
    ...(origination && { origination: [{ host, port, tls: origination }] }),
  };
}

function config(): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'externals',
    proxy: { role: 'sidecar', namespace: 'default', name: 'sleep', spiffeId: 'spiffe://cluster.local/ns/default/sa/sleep', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [],
      externals: [
        entry(H2C_HOST, 80, 'http2', h2cPort),
        entry(TLS_HOST, 443, 'http2', h2TlsPort, simple()),
        entry(H1_ONLY_HOST, 443, 'http2', h1OnlyPort, simple()),
        entry(GRPC_HOST, 50051, 'grpc', grpcServer.port),
        entry(WEB_HOST, 80, 'http', webPort),
        { ...entry(ONCE_HOST, 80, 'http2', h2cPort), connectionPools: [{ host: ONCE_HOST, port: 80, connectionPool: compileTrafficPolicy({ connectionPool: { http: { maxRequestsPerConnection: 1 } } } as never).connectionPool! }] },
      ],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

interface Answer {
  status: number;
  body: string;
  trailers: http2.IncomingHttpHeaders;
}

describe('HTTP/2 and gRPC to hosts outside the mesh (ServiceEntry), per stream', () => {
  const log: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => log.push(e) } });
  const listener = createOutboundListener(rt);
  let proxyPort = 0;
  let session: http2.ClientHttp2Session;
  /** The sidecar keeps pooled sessions to the stand-ins open while idle: their side is let go at the end. */
  const sockets: net.Socket[] = [];

  const call = (authority: string, path = '/hello', trailers?: http2.OutgoingHttpHeaders): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': path, ':authority': authority }, { waitForTrailers: trailers !== undefined });
      const out: Answer = { status: 0, body: '', trailers: {} };
      req.on('response', (h) => (out.status = Number(h[':status'])));
      req.on('data', (c: Buffer) => (out.body += c.toString()));
      req.on('trailers', (t) => (out.trailers = t));
      req.on('error', reject);
      req.on('close', () => resolve(out));
      if (trailers !== undefined) req.once('wantTrailers', () => req.sendTrailers(trailers));
      req.end('body');
    });

  before(async () => {
    ca = await pki.ca('external-h2-ca');
    leaf = await pki.leaf(ca, TLS_HOST, [TLS_HOST, H1_ONLY_HOST], 'server');
    h2cPort = await listenOnLoopback(h2c);
    h2Tls = http2.createSecureServer({ cert: leaf.certPem, key: leaf.keyPem });
    h2Tls.on('stream', (s, h) => {
      const socket = s.session?.socket as tls.TLSSocket | undefined;
      answer(s, h, { sni: (socket as unknown as { servername?: string } | undefined)?.servername, alpn: socket?.alpnProtocol ?? undefined });
    });
    h2TlsPort = await listenOnLoopback(h2Tls as unknown as net.Server);
    // No ALPN at all (node's HTTPS server would offer http/1.1 and end the handshake with no_application_protocol,
    // also a 503 UF): the handshake succeeds and no protocol is chosen.
    h1Only = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nh1'));
    h1OnlyPort = await listenOnLoopback(h1Only as unknown as net.Server);
    webPort = await listenOnLoopback(web);
    grpcServer = await startEchoServer('external-echo', '127.0.0.1');
    for (const s of [h2c, h2Tls, web] as net.Server[]) s.on('connection', (c: net.Socket) => sockets.push(c));
    h2Tls.on('secureConnection', (c: net.Socket) => sockets.push(c));
    installConfig(rt, acceptProxyConfig(config()));
    proxyPort = await listenOnLoopback(listener);
    session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    session.on('error', () => undefined);
  });
  after(async () => {
    session.close();
    listener.close();
    for (const s of sockets) s.destroy();
    h2c.close();
    h2Tls.close();
    h1Only.close();
    web.close();
    grpcServer.server.forceShutdown();
    await rt.pools.close();
    pki.remove();
  });

  test('an http2 port: h2c to the host, request and response trailers through, no mesh headers sent outside', async () => {
    const a = await call(`${H2C_HOST}:80`, '/hello', { 'x-request-trailer': 'yes' });
    assert.deepEqual([a.status, a.body, a.trailers['x-upstream']], [200, `hello from ${H2C_HOST}:80`, 'done']);
    const s = seen.at(-1)!;
    assert.deepEqual([s.scheme, s.authority, s.path, s.peerHeader, s.trailers?.['x-request-trailer']], ['http', `${H2C_HOST}:80`, '/hello', false, 'yes']);
    const e = log.at(-1)!;
    assert.deepEqual([e.direction, e.status, e.egress?.decision, e.egress?.serviceEntry], ['outbound', 200, 'external', `default/${H2C_HOST}`]);
  });

  test('streams of one client connection share one upstream session', async () => {
    const before = sockets.length;
    await Promise.all([call(`${H2C_HOST}:80`, '/a'), call(`${H2C_HOST}:80`, '/b'), call(`${H2C_HOST}:80`, '/c')]);
    assert.equal(sockets.length, before, 'no new connection to the host');
  });

  test("the host's DestinationRule connection pool: maxRequestsPerConnection 1 gives each stream its own session", async () => {
    const before = sockets.length;
    for (const path of ['/1', '/2', '/3']) assert.equal((await call(`${ONCE_HOST}:80`, path)).status, 200);
    assert.equal(sockets.length, before + 3, 'a new connection to the host per stream');
  });

  test('DestinationRule SIMPLE: h2 over TLS the sidecar originates (ALPN h2, SNI the host, :scheme https)', async () => {
    const a = await call(`${TLS_HOST}:443`, '/secure');
    assert.deepEqual([a.status, a.body], [200, `hello from ${TLS_HOST}:443`]);
    const s = seen.at(-1)!;
    assert.deepEqual([s.scheme, s.sni, s.alpn], ['https', TLS_HOST, 'h2']);
  });

  test('a TLS server that chooses no h2: 503 UF, the reason says so', async () => {
    const a = await call(`${H1_ONLY_HOST}:443`);
    assert.equal(a.status, 503);
    assert.match(a.body, /did not choose h2/);
    // Istio's default retry policy retries a connect failure: URX beside UF.
    assert.deepEqual(log.at(-1)!.responseFlags?.split(',').sort(), ['UF', 'URX']);
  });

  test('a grpc port: a real gRPC client reaches a real gRPC server outside the mesh', async () => {
    const Echo = echoService();
    const client = new Echo(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': `${GRPC_HOST}:50051` }) as unknown as grpc.Client & {
      say(req: EchoRequest, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): void;
    };
    try {
      const reply = await new Promise<EchoReply | undefined>((resolve, reject) => client.say({ message: 'out there' }, (err, r) => (err ? reject(err) : resolve(r))));
      assert.deepEqual([reply?.message, reply?.pod], ['out there', 'external-echo']);
      const e = log.at(-1)!;
      assert.deepEqual([e.protocol, e.grpcStatus, e.egress?.serviceEntry], ['grpc', 0, `default/${GRPC_HOST}`]);
    } finally {
      client.close();
    }
  });

  test('an http port: the HTTP/2 stream goes out as HTTP/1.1', async () => {
    const a = await call(`${WEB_HOST}:80`);
    assert.deepEqual([a.status, a.body], [200, `1.1 ${WEB_HOST}:80`]);
  });

  test('no ServiceEntry: 502 under REGISTRY_ONLY, as before', async () => {
    const a = await call('unknown.example:80');
    assert.equal(a.status, 502);
    assert.match(a.body, /egress denied: REGISTRY_ONLY/);
  });
});
