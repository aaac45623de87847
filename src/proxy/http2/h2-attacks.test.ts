/**
 * HTTP/2's known attacks at the sidecar's outbound listener (and so at every listener built on H2_SERVER_LIMITS):
 * each is bounded (GOAWAY, RST_STREAM or a closed connection), the proxy stays up, and another connection is served
 * afterwards. Frames are written by hand (raw-h2.fixture.ts): no client library sends these.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundListener } from '../outbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { FLAG, FRAME, RawH2, frame, literal, requestBlock, settings } from './raw-h2.fixture.js';
import { STREAMS_OVER_LIMIT, openTooManyStreams, rapidReset } from '../h2-attacks.fixture.js';

const HOST = 'api.default.svc.cluster.local';
const AUTHORITY = `${HOST}:8080`;

function config(upstreamPort: number): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v1',
    proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        {
          host: HOST,
          namespace: 'default',
          aliases: ['api'],
          addresses: [],
          ports: [{ port: 8080, name: 'http2', protocol: 'http2', endpoints: [{ address: '127.0.0.1', inboundPort: upstreamPort, targetPort: 8080, spiffeId: 'spiffe://cluster.local/ns/default/sa/api', mtls: false, workload: 'default/api-1' }] }],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

describe('HTTP/2 attacks at the outbound listener are bounded', () => {
  // The upstream answers at the end of each request; `/big` streams 16 MiB, taking backpressure into account.
  let bigWritten = 0;
  let bigBlocked = false;
  const upstream = http2.createServer();
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    if (headers[':path'] === '/big') {
      stream.respond({ ':status': 200 });
      const chunk = Buffer.alloc(64 * 1024, 0x7a);
      const pump = (): void => {
        while (bigWritten < 16 * 1024 * 1024) {
          bigWritten += chunk.length;
          if (!stream.write(chunk)) {
            bigBlocked = true;
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
      return;
    }
    stream.resume();
    stream.on('end', () => {
      if (!stream.closed) stream.respond({ ':status': 200 }, { endStream: true });
    });
  });
  const rt = testRuntime();
  const listener = createOutboundListener(rt);
  let port = 0;
  // Connections are ended at teardown: the proxy's idle upstream sessions and idle timeouts would hold the test open.
  const sockets = new Set<net.Socket>();
  const upstreamSessions = new Set<http2.ServerHttp2Session>();
  listener.on('connection', (s: net.Socket) => sockets.add(s));
  upstream.on('session', (s: http2.ServerHttp2Session) => upstreamSessions.add(s));

  /** A well-behaved request on a new connection: the proxy still serves. */
  const stillServes = async (): Promise<void> => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on('error', () => undefined);
    const req = s.request({ ':method': 'POST', ':path': '/ok', ':authority': AUTHORITY });
    req.end('x');
    const h = await new Promise<http2.IncomingHttpHeaders>((r, j) => {
      req.once('response', r);
      req.once('error', j);
    });
    req.resume();
    s.close();
    assert.equal(h[':status'], 200);
  };

  before(async () => {
    const upstreamPort = await new Promise<number>((r) => upstream.listen(0, '127.0.0.1', () => r((upstream.address() as net.AddressInfo).port)));
    installConfig(rt, acceptProxyConfig(config(upstreamPort)));
    port = await new Promise<number>((r) => listener.listen(0, '127.0.0.1', () => r((listener.address() as net.AddressInfo).port)));
  });
  after(() => {
    listener.close();
    upstream.close();
    for (const s of sockets) s.destroy();
    for (const s of upstreamSessions) s.destroy();
  });

  test('more streams than advertised (256): the excess is refused with RST_STREAM(REFUSED_STREAM)', async () => {
    const c = new RawH2(port);
    assert.ok((await openTooManyStreams(c, AUTHORITY)) >= STREAMS_OVER_LIMIT);
    c.close();
    await stillServes();
  });

  test('rapid reset (CVE-2023-44487): streams opened and cancelled at once end in GOAWAY', async () => {
    const c = new RawH2(port);
    assert.ok(await rapidReset(c, AUTHORITY), 'the session was ended');
    c.close();
    await stillServes();
  });

  test('CONTINUATION flood: a header block that never ends is cut off', async () => {
    const c = new RawH2(port);
    await c.write(frame(FRAME.HEADERS, 0, 1, requestBlock(AUTHORITY)));
    for (let round = 0; round < 50 && !c.closed; round++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 200; i++) frames.push(frame(FRAME.CONTINUATION, 0, 1, literal('x-flood', 'y'.repeat(100))));
      await c.write(Buffer.concat(frames));
    }
    while (c.goaway() === undefined && !c.closed) await new Promise((r) => setTimeout(r, 10));
    c.close();
    await stillServes();
  });

  test('HPACK bomb: one indexed header repeated past the header list limit is refused', async () => {
    const c = new RawH2(port);
    // A 4 KiB value enters the dynamic table once (index 62), then 1-byte references expand it 64 times: 256 KiB.
    const refs = Buffer.alloc(64, 0xbe);
    await c.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, requestBlock(AUTHORITY, [literal('x-bomb', 'b'.repeat(4000), true), refs])));
    while (c.count(FRAME.RST_STREAM) === 0 && c.count(FRAME.HEADERS) === 0 && !c.closed) await new Promise((r) => setTimeout(r, 10));
    // Either the stream is refused or answered 431; never 256 KiB of headers forwarded.
    assert.ok(c.count(FRAME.RST_STREAM) > 0 || c.closed || c.count(FRAME.HEADERS) > 0);
    c.close();
    await stillServes();
  });

  test('SETTINGS flood and PING flood end the session', async () => {
    for (const type of [FRAME.SETTINGS, FRAME.PING]) {
      const c = new RawH2(port);
      const one = type === FRAME.SETTINGS ? settings([[3, 100]]) : frame(FRAME.PING, 0, 0, Buffer.alloc(8));
      for (let round = 0; round < 50 && !c.closed && c.goaway() === undefined; round++) await c.write(Buffer.concat(Array.from({ length: 2000 }, () => one)));
      while (c.goaway() === undefined && !c.closed) await new Promise((r) => setTimeout(r, 10));
      c.close();
    }
    await stillServes();
  });

  test('zero-window stall: the upstream is paused, nothing is buffered without bound, others are served', async () => {
    const c = new RawH2(port);
    // INITIAL_WINDOW_SIZE 0: the client takes no DATA at all.
    await c.write(settings([[4, 0]]));
    await c.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.concat([Buffer.from([0x82, 0x86]), literal(':path', '/big'), Buffer.concat([Buffer.from([0x01, AUTHORITY.length]), Buffer.from(AUTHORITY)])])));
    while (!bigBlocked) await new Promise((r) => setTimeout(r, 10));
    await stillServes();
    // The upstream stopped after its own window and the proxy's stream buffers, far short of 16 MiB.
    assert.ok(bigWritten < 2 * 1024 * 1024, `upstream wrote ${bigWritten} bytes`);
    c.close();
  });
});
