/**
 * Request trailers through both sidecars: an HTTP/2 client (a gRPC client-streaming call framed by hand, and plain
 * HTTP/2) sends trailers after its body; they reach the app through the client sidecar's outbound listener, the
 * destination sidecar's inbound HTTP/2 and on to the app, whether the body went straight through or through the
 * retry copy (Istio's default route keeps one), and after a retry replayed it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import type { HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundListener } from '../outbound/index.js';
import { createInboundListener } from '../inbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { listenOnLoopback } from '../loopback.fixture.js';

const HOST = 'sink.default.svc.cluster.local';
const PORT = 50051;

function outboundConfig(version: string, inboundPort: number, protocol: 'grpc' | 'http2', routes?: HttpRoute[]): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version,
    proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        {
          host: HOST,
          namespace: 'default',
          aliases: ['sink'],
          addresses: [],
          ports: [
            {
              port: PORT,
              name: protocol,
              protocol,
              endpoints: [{ address: '127.0.0.1', inboundPort, targetPort: PORT, spiffeId: 'spiffe://cluster.local/ns/default/sa/sink', mtls: false, workload: 'default/sink-1' }],
              ...(routes && { http: routes }),
            },
          ],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

function inboundConfig(appPort: number): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'in',
    proxy: { role: 'sidecar', namespace: 'default', name: 'sink', spiffeId: 'spiffe://cluster.local/ns/default/sa/sink', labels: {} },
    trustDomain: 'cluster.local',
    inbound: { defaultMode: 'PERMISSIVE', ports: [{ port: appPort, name: 'grpc', protocol: 'grpc', mode: 'PERMISSIVE' }], servicePorts: [] },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

/** A gRPC message: flag 0, big-endian length, payload. */
const message = (text: string): Buffer => {
  const p = Buffer.from(text);
  const h = Buffer.alloc(5);
  h.writeUInt32BE(p.length, 1);
  return Buffer.concat([h, p]);
};

interface Seen {
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
}

describe('request trailers: client → client sidecar → destination sidecar → app', () => {
  const seen: Seen[] = [];
  /** The first stream of each `/flaky` call is reset, so the client sidecar retries it (from the retry copy). */
  let flaky = 0;
  const app = http2.createServer();
  app.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/flaky' && flaky++ % 2 === 0) {
      stream.respond({ ':status': 503 }, { endStream: true });
      return;
    }
    const rec: Seen = { body: Buffer.alloc(0), trailers: undefined };
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('trailers', (t) => (rec.trailers = t));
    stream.once('end', () => {
      rec.body = Buffer.concat(chunks);
      seen.push(rec);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-saw-trailer': String(rec.trailers?.['x-checksum'] ?? 'none') }));
      stream.end(message('ok'));
    });
  });
  const rtOut = testRuntime();
  const rtIn = testRuntime();
  const outbound = createOutboundListener(rtOut);
  let inbound: net.Server;
  let inboundPort = 0;
  let proxyPort = 0;
  let session: http2.ClientHttp2Session;
  /** The client sidecar keeps its pooled session to the destination open while idle: let go here. */
  const sockets: net.Socket[] = [];

  before(async () => {
    const appPort = await listenOnLoopback(app);
    installConfig(rtIn, acceptProxyConfig(inboundConfig(appPort)));
    inbound = createInboundListener(rtIn, () => appPort).server;
    inbound.on('connection', (socket: net.Socket) => sockets.push(socket));
    inboundPort = await listenOnLoopback(inbound);
    proxyPort = await listenOnLoopback(outbound);
    session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    session.on('error', () => undefined);
  });
  after(async () => {
    session.close();
    outbound.close();
    inbound.close();
    for (const socket of sockets) socket.destroy();
    app.close();
    await rtIn.pools.close();
  });

  /** A streaming request: `chunks` as DATA frames, then `trailers` (END_STREAM on the trailers' HEADERS). */
  const call = (path: string, contentType: string, chunks: Buffer[], trailers: http2.OutgoingHttpHeaders | undefined): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': path, ':authority': `${HOST}:${PORT}`, 'content-type': contentType, te: 'trailers' }, { waitForTrailers: trailers !== undefined });
      const out = { headers: {} as http2.IncomingHttpHeaders, trailers: {} as http2.IncomingHttpHeaders };
      req.on('response', (h) => (out.headers = h));
      req.on('trailers', (t) => (out.trailers = t));
      req.on('error', reject);
      req.resume();
      req.on('close', () => resolve(out));
      if (trailers !== undefined) req.once('wantTrailers', () => req.sendTrailers(trailers));
      for (const c of chunks) req.write(c);
      req.end();
    });

  const cases: Array<{ name: string; protocol: 'grpc' | 'http2'; routes?: HttpRoute[]; path: string; contentType: string }> = [
    { name: 'gRPC client streaming, default route (the body goes through the retry copy)', protocol: 'grpc', path: '/weft.Sink/Upload', contentType: 'application/grpc' },
    {
      name: 'gRPC client streaming, a route without retries (the body goes straight through)',
      protocol: 'grpc',
      path: '/weft.Sink/Upload',
      contentType: 'application/grpc',
      routes: [{ source: 'default/sink#0', name: '', match: [], destinations: [{ host: HOST, port: PORT, weight: 100 }], timeoutMs: 0, retries: { attempts: 0, perTryTimeoutMs: 0, retryOn: [], retriableStatusCodes: [], retryRemoteLocalities: false, retryIgnorePreviousHosts: false, backoffMs: 0 } }],
    },
    { name: 'plain HTTP/2 request trailers on an http2 port', protocol: 'http2', path: '/upload', contentType: 'application/octet-stream' },
    { name: 'a retried request (503 first) replays its body, then its trailers', protocol: 'http2', path: '/flaky', contentType: 'application/octet-stream' },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      installConfig(rtOut, acceptProxyConfig(outboundConfig(`${c.protocol}-${c.routes ? 'r' : 'd'}`, inboundPort, c.protocol, c.routes)));
      const before = seen.length;
      const parts = [message('one'), message('two'), message('three')];
      const a = await call(c.path, c.contentType, parts, { 'x-checksum': 'abc123', 'x-client-note': 'done' });
      assert.equal(a.headers[':status'], 200);
      assert.equal(a.trailers['x-saw-trailer'], 'abc123');
      assert.equal(seen.length, before + 1);
      const got = seen.at(-1)!;
      assert.deepEqual(got.body, Buffer.concat(parts));
      assert.equal(got.trailers?.['x-checksum'], 'abc123');
      assert.equal(got.trailers?.['x-client-note'], 'done');
    });
  }

  test('a body without trailers still ends (END_STREAM on an empty DATA frame), and the app sees none', async () => {
    installConfig(rtOut, acceptProxyConfig(outboundConfig('none', inboundPort, 'grpc')));
    const a = await call('/weft.Sink/Upload', 'application/grpc', [message('only')], undefined);
    assert.equal(a.trailers['x-saw-trailer'], 'none');
    assert.equal(seen.at(-1)!.trailers, undefined);
  });
});
