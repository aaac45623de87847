/**
 * LocalRateLimitPolicy at the inbound listener, on a fake clock: HTTP/1.1, HTTP/2 and gRPC callers over the limit get
 * Envoy's local rate limit reply and never reach the app; the metric and the access log name the policy; a request
 * authorization refuses spends nothing; time refills the budget. Callers here are plaintext (PERMISSIVE), so they
 * share one identity; per-identity behaviour is the limiter's tests' and the mesh test's.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { Agent, Client, request } from 'undici';
import type { LocalRateLimitConfig, ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import { LocalRateLimits } from '../ratelimit/local-rate-limits.js';
import { createInboundListener } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';

const seenByApp: string[] = [];
const h1App = http.createServer((req, res) => {
  seenByApp.push(`h1 ${req.url ?? ''}`);
  res.end('from the app');
});
const h2App = http2.createServer();
h2App.on('stream', (stream, headers) => {
  stream.on('error', () => undefined);
  seenByApp.push(`h2 ${headers[':path'] ?? ''}`);
  if (headers['content-type'] === 'application/grpc') {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end();
    return;
  }
  stream.respond({ ':status': 200 });
  stream.end('from the app');
});

let nowMs = 0;
const entries: AccessLogEntry[] = [];
const metrics = new ProxyMetrics('default/api', () => rt.config?.raw);
const rt: ProxyRuntime = testRuntime({
  telemetry: {
    record: (e) => {
      entries.push(e);
      metrics.record(e);
    },
  },
});
let h1Port = 0;
let h2Port = 0;
let h1Inbound: net.Server;
let h2Inbound: net.Server;
let h1Listener = 0;
let h2Listener = 0;

function config(version: string, rateLimits: LocalRateLimitConfig[]): ProxyConfig {
  return {
    schema: 3,
    version,
    proxy: { role: 'sidecar', namespace: 'default', name: 'api', spiffeId: 'spiffe://cluster.local/ns/default/sa/api', labels: { app: 'api' } },
    trustDomain: 'cluster.local',
    inbound: {
      defaultMode: 'PERMISSIVE',
      ports: [
        { port: h1Port, name: 'http', protocol: 'http', mode: 'PERMISSIVE' },
        { port: h2Port, name: 'grpc', protocol: 'grpc', mode: 'PERMISSIVE' },
      ],
      servicePorts: [],
      rateLimits,
    },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: {
      rootNamespace: 'weft-system',
      pathNormalization: 'BASE',
      authorizationPolicies: [{ namespace: 'default', name: 'deny-admin', annotations: {}, spec: { action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] } }],
      jwtRules: [],
      extensionProviders: [],
    },
  };
}

before(async () => {
  h1Port = await listenOnLoopback(h1App);
  h2Port = await listenOnLoopback(h2App);
  // One set of buckets for both listeners, as one sidecar has; each listener claims its own captured app port.
  const limits = new LocalRateLimits(() => nowMs);
  h1Inbound = createInboundListener(rt, () => h1Port, limits).server;
  h2Inbound = createInboundListener(rt, () => h2Port, limits).server;
  h1Listener = await listenOnLoopback(h1Inbound);
  h2Listener = await listenOnLoopback(h2Inbound);
});
// Its own agent, closed at the end: the global one would keep an idle connection for the minute the sidecar's
// Keep-Alive header allows, and the file's process with it.
const agent = new Agent();

after(async () => {
  await agent.close();
  h1Inbound.close();
  h2Inbound.close();
  h1App.close();
  h2App.close();
  await rt.pools.close();
});

let generation = 0;
beforeEach(() => {
  // Each test starts with whole budgets: ten idle seconds refill every bucket, and a push of an unchanged policy
  // keeps its buckets.
  generation++;
  nowMs += 10_000;
  rt.config = acceptProxyConfig(
    config(`v${generation}`, [
      { policy: 'default/h1-rl', port: h1Port, total: 2, overrides: [] },
      { policy: 'default/h2-rl', port: h2Port, total: 1, overrides: [] },
    ]),
  );
  seenByApp.length = 0;
  entries.length = 0;
});

async function get(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const r = await request(`http://127.0.0.1:${h1Listener}${path}`, { headers: { host: 'api' }, dispatcher: agent });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

interface H2Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | undefined;
  body: string;
}

function h2call(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', ...headers });
    const out: H2Answer = { headers: {}, trailers: undefined, body: '' };
    req.setEncoding('utf8');
    req.on('response', (h) => (out.headers = h));
    req.on('trailers', (t) => (out.trailers = t));
    req.on('data', (c: string) => (out.body += c));
    req.on('error', reject);
    req.on('close', () => resolve(out));
    req.end();
  });
}

describe('local rate limits at the inbound listener', () => {
  test('HTTP/1.1: over the limit is 429 with x-envoy-ratelimited and local_rate_limited, and never reaches the app', async () => {
    assert.equal((await get('/a')).status, 200);
    assert.equal((await get('/b')).status, 200);
    const limited = await get('/c');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['x-envoy-ratelimited'], 'true');
    assert.equal(limited.body, 'local_rate_limited');
    assert.deepEqual(seenByApp, ['h1 /a', 'h1 /b']);
    const last = entries.at(-1)!;
    assert.equal(last.status, 429);
    assert.equal(last.responseFlags, 'RL');
    assert.deepEqual(last.rateLimit, { policy: 'default/h1-rl', scope: 'total' });
    assert.equal(last.reason, 'local_rate_limited');
    assert.equal(entries.filter((e) => e.responseFlags !== undefined).length, 1, 'admitted requests carry no flag');
  });

  test('HTTP/1.1: a refused request with a body leaves its connection usable', async () => {
    const client = new Client(`http://127.0.0.1:${h1Listener}`, { pipelining: 1 });
    let connections = 0;
    client.on('connect', () => connections++);
    const send = async (method: 'GET' | 'POST', path: string, body?: string): Promise<number> => {
      const r = await client.request({ method, path, headers: { host: 'api' }, body });
      await r.body.text();
      return r.statusCode;
    };
    try {
      assert.deepEqual([await send('GET', '/a'), await send('GET', '/b')], [200, 200]);
      assert.equal(await send('POST', '/upload', 'x'.repeat(256 * 1024)), 429);
      nowMs += 500;
      assert.equal(await send('GET', '/c'), 200);
      assert.equal(connections, 1);
      assert.deepEqual(seenByApp, ['h1 /a', 'h1 /b', 'h1 /c']);
    } finally {
      await client.close();
    }
  });

  test('time refills the budget: one request per interval, a burst after a second', async () => {
    await get('/a');
    await get('/b');
    assert.equal((await get('/c')).status, 429);
    nowMs += 499;
    assert.equal((await get('/d')).status, 429);
    nowMs += 1;
    assert.equal((await get('/e')).status, 200);
    nowMs += 1000;
    assert.deepEqual([(await get('/f')).status, (await get('/g')).status, (await get('/h')).status], [200, 200, 429]);
  });

  test('a request authorization refuses is 403 and spends nothing (rate limiting comes after authz)', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await get('/admin')).status, 403);
    assert.deepEqual([(await get('/a')).status, (await get('/b')).status], [200, 200]);
  });

  test('HTTP/2: a plain request over the limit gets the same 429; a gRPC one a trailers-only UNAVAILABLE', async () => {
    const s = http2.connect(`http://127.0.0.1:${h2Listener}`);
    s.on('error', () => undefined);
    try {
      const ok = await h2call(s, { 'content-type': 'application/grpc', te: 'trailers' });
      assert.equal(ok.headers[':status'], 200);
      assert.equal(ok.trailers?.['grpc-status'], '0');
      const grpc = await h2call(s, { 'content-type': 'application/grpc', te: 'trailers' });
      // Trailers-only: the status is in the one HEADERS frame, and no trailers follow.
      assert.equal(grpc.headers[':status'], 200);
      assert.equal(grpc.headers['content-type'], 'application/grpc');
      assert.equal(grpc.headers['grpc-status'], '14');
      assert.equal(grpc.headers['grpc-message'], 'local_rate_limited');
      assert.equal(grpc.headers['x-envoy-ratelimited'], 'true');
      assert.equal(grpc.trailers, undefined);
      assert.equal(grpc.body, '');
      const plain = await h2call(s, { 'content-type': 'text/plain' });
      assert.equal(plain.headers[':status'], 429);
      assert.equal(plain.headers['x-envoy-ratelimited'], 'true');
      assert.equal(plain.body, 'local_rate_limited');
      assert.deepEqual(seenByApp, ['h2 /echo.Echo/Say']);
      assert.deepEqual(
        entries.map((e) => [e.status, e.responseFlags, e.rateLimit?.policy]),
        [
          [200, undefined, undefined],
          [429, 'RL', 'default/h2-rl'],
          [429, 'RL', 'default/h2-rl'],
        ],
      );
    } finally {
      s.close();
    }
  });

  test('weft_rate_limited_total counts refusals by policy and scope', async () => {
    const text = await metrics.registry.metrics();
    const count = (policy: string): number => Number(new RegExp(`^weft_rate_limited_total\\{policy="${policy}",scope="total",workload="default/api"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    // h1-rl: one refusal in the first test, one in the second, three in the third; h2-rl: two in the fifth.
    assert.equal(count('default/h1-rl'), 5);
    assert.equal(count('default/h2-rl'), 2);
  });
});
