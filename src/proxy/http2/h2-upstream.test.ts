/**
 * The upstream side of HTTP/2 through the outbound listener, against a plain node:http2 server: the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS is respected (more calls wait or go on another session), an upstream RST_STREAM
 * after the answer began resets the client's stream with the same code, a GOAWAY drains the session (streams in
 * flight finish, new ones go on a new session), and request bodies stream both ways with trailers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundListener } from '../outbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { SESSIONS_PER_ENDPOINT } from './h2-session-pool.js';

const HOST = 'stream.default.svc.cluster.local';
const AUTHORITY = `${HOST}:9000`;
const MAX_STREAMS = 2;

const WEB = 'web.default.svc.cluster.local';

/** `webPort`: the http service's endpoint; only the test that starts that server reaches it. */
function config(port: number, http?: HttpRoute[], webPort = 9): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v1',
    proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [{ host: HOST, namespace: 'default', aliases: [], addresses: [], ports: [{ port: 9000, name: 'http2', protocol: 'http2', endpoints: [{ address: '127.0.0.1', inboundPort: port, targetPort: 9000, spiffeId: 'spiffe://cluster.local/ns/default/sa/stream', mtls: false, workload: 'default/stream-1' }], ...(http && { http }) }] },
        {
          host: WEB,
          namespace: 'default',
          aliases: [],
          addresses: [],
          ports: [
            {
              port: 80,
              name: 'http',
              protocol: 'http',
              endpoints: [{ address: '127.0.0.1', inboundPort: webPort, targetPort: 80, spiffeId: 'spiffe://cluster.local/ns/default/sa/web', mtls: false, workload: 'default/web-1' }],
              http: [{ source: 'default/web#0', name: '', match: [], destinations: [{ host: WEB, port: 80, weight: 100 }], timeoutMs: 0, headers: { request: { set: [['x-route', 'web']], add: [], remove: [] } } }],
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

describe('upstream HTTP/2 sessions', () => {
  // Per upstream session: streams open now, and the most ever open at once.
  const open = new Map<http2.Http2Session, number>();
  let peak = 0;
  const sessions = new Set<http2.ServerHttp2Session>();
  const upstream = http2.createServer({ settings: { maxConcurrentStreams: MAX_STREAMS } });
  upstream.on('session', (s) => sessions.add(s));
  upstream.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const session = stream.session!;
    open.set(session, (open.get(session) ?? 0) + 1);
    peak = Math.max(peak, open.get(session)!);
    stream.once('close', () => open.set(session, open.get(session)! - 1));
    const path = headers[':path'];
    if (path === '/reset-mid-answer') {
      stream.respond({ ':status': 200 });
      stream.resume();
      // Reset while the request is still open: node's close() ends the writable side first, and once both sides of
      // a stream have ended the peer takes it as closed cleanly and drops the RST_STREAM.
      stream.write('partial', () => stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM));
      return;
    }
    if (path === '/headers') {
      stream.respond({ ':status': 200 });
      stream.end(`${String(headers['x-route'])} ${String(headers['te'])}`);
      return;
    }
    if (path === '/goaway') {
      // Answer after telling the client to open no more streams here.
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      stream.respond({ ':status': 200 });
      stream.end('drained');
      return;
    }
    // Echo the body back (uppercased), then a trailer.
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const hold = path === '/slow' ? 30 : 0;
      setTimeout(() => {
        if (stream.closed) return;
        stream.respond({ ':status': 200 }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'x-upstream-trailer': 'yes' }));
        stream.end(Buffer.concat(chunks).toString().toUpperCase());
      }, hold);
    });
  });
  const rt = testRuntime();
  const listener = createOutboundListener(rt);
  const sockets = new Set<net.Socket>();
  listener.on('connection', (s: net.Socket) => sockets.add(s));
  let port = 0;
  let upstreamPort = 0;
  let client: http2.ClientHttp2Session;

  const call = (path: string, body = ''): Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders; rst?: number }> =>
    new Promise((resolve) => {
      const req = client.request({ ':method': 'POST', ':path': path, ':authority': AUTHORITY });
      let text = '';
      let status = 0;
      let trailers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('trailers', (t) => (trailers = t));
      req.on('error', () => undefined);
      req.on('close', () => resolve({ status, body: text, trailers, ...(req.rstCode ? { rst: req.rstCode } : {}) }));
      req.end(body);
    });

  before(async () => {
    upstreamPort = await new Promise<number>((r) => upstream.listen(0, '127.0.0.1', () => r((upstream.address() as net.AddressInfo).port)));
    installConfig(rt, acceptProxyConfig(config(upstreamPort)));
    port = await new Promise<number>((r) => listener.listen(0, '127.0.0.1', () => r((listener.address() as net.AddressInfo).port)));
    client = http2.connect(`http://127.0.0.1:${port}`);
  });
  after(() => {
    client.close();
    listener.close();
    upstream.close();
    for (const s of sockets) s.destroy();
    for (const s of sessions) s.destroy();
  });

  test('a body streams up, the answer and its trailers stream back', async () => {
    const r = await call('/echo', 'hello upstream');
    assert.deepEqual([r.status, r.body, r.trailers['x-upstream-trailer']], [200, 'HELLO UPSTREAM', 'yes']);
  });

  test("the peer's max concurrent streams is respected: 20 calls at once, never more than 2 per session", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call('/slow', `c${i}`)));
    assert.deepEqual(
      results.map((r) => r.body),
      Array.from({ length: 20 }, (_, i) => `C${i}`),
    );
    assert.ok(peak <= MAX_STREAMS, `peak ${peak}`);
    assert.ok(sessions.size <= SESSIONS_PER_ENDPOINT + 1, `${sessions.size} sessions`);
  });

  test('an upstream RST_STREAM after the answer began resets the client stream with its code', async () => {
    // The request ends only once the answer has begun (see the upstream above).
    const r = await new Promise<{ status: number; rst: number | undefined }>((resolve) => {
      const req = client.request({ ':method': 'POST', ':path': '/reset-mid-answer', ':authority': AUTHORITY });
      let status = 0;
      req.on('response', (h) => {
        status = Number(h[':status']);
        req.end();
      });
      req.on('error', () => undefined);
      req.resume();
      req.on('close', () => resolve({ status, rst: req.rstCode }));
    });
    assert.equal(r.status, 200);
    assert.equal(r.rst, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  });

  test("a route's request header operations reach the upstream, with gRPC's te: trailers", async () => {
    const ops = { request: { set: [['x-route', 'yes']] as Array<[string, string]>, add: [], remove: [] } };
    installConfig(rt, acceptProxyConfig(config(upstreamPort, [{ source: 'default/stream#0', name: '', match: [], destinations: [{ host: HOST, port: 9000, weight: 100 }], timeoutMs: 0, headers: ops }])));
    const r = await new Promise<string>((resolve) => {
      const req = client.request({ ':method': 'POST', ':path': '/headers', ':authority': AUTHORITY, te: 'trailers', 'content-type': 'application/grpc' });
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => resolve(text));
      req.end();
    });
    installConfig(rt, acceptProxyConfig(config(upstreamPort)));
    assert.equal(r, 'yes trailers');
  });

  test('an HTTP/2 stream to an http port goes upstream as HTTP/1.1, pseudo-headers left behind', async () => {
    const web = http.createServer((req, res) => res.end(`${req.httpVersion} ${req.headers.host ?? ''} ${String(req.headers['x-route'])} ${req.rawHeaders.some((h) => h.startsWith(':'))}`));
    const webPort = await new Promise<number>((r) => web.listen(0, '127.0.0.1', () => r((web.address() as net.AddressInfo).port)));
    installConfig(rt, acceptProxyConfig(config(upstreamPort, undefined, webPort)));
    const r = await new Promise<string>((resolve) => {
      const req = client.request({ ':method': 'GET', ':path': '/', ':authority': `${WEB}:80` });
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => resolve(text));
      req.end();
    });
    web.close();
    web.closeAllConnections();
    assert.equal(r, `1.1 ${WEB}:80 web false`);
  });

  test('GOAWAY drains: the stream in flight finishes, the next call goes on a new session', async () => {
    const before = sessions.size;
    const r = await call('/goaway');
    assert.deepEqual([r.status, r.body], [200, 'drained']);
    const next = await call('/echo', 'after');
    assert.equal(next.body, 'AFTER');
    assert.ok(sessions.size >= before, 'a session was opened or reused past the GOAWAY');
  });
});
