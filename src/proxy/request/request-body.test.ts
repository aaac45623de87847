/**
 * Requests with bodies through the outbound listener to real upstream servers: a retried POST reaches the upstream
 * twice with the same body, one that outgrows the retry buffer goes once, a mirror target sees the body.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundServer } from '../outbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { RETRY_BUFFER_LIMIT_BYTES } from './retry-buffer.js';

const HOST = 'orders.default.svc.cluster.local';
const SHADOW = 'audit.default.svc.cluster.local';

interface Seen {
  path: string;
  body: string;
  bytes: number;
}

/** Answers 503 to the first request of each path whose name asks for it, then 200; records every body. */
function recordingServer(seen: Seen[]): http.Server {
  const failed = new Set<string>();
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '';
      seen.push({ path, body: body.length <= 64 ? body.toString() : '', bytes: body.length });
      const fail = path.startsWith('/fail-once') && !failed.has(path);
      if (fail || path.startsWith('/always-503')) {
        failed.add(path);
        res.writeHead(503).end('busy');
        return;
      }
      res.end(`ok ${body.length}`);
    });
  });
}

function listen(server: http.Server, address: string): Promise<number> {
  return new Promise((r) => server.listen(0, address, () => r((server.address() as { port: number }).port)));
}

function service(host: string, address: string, inboundPort: number, http?: HttpRoute[]) {
  return {
    host,
    namespace: 'default',
    aliases: [host.split('.')[0]!],
    addresses: [],
    ports: [
      {
        port: 80,
        name: 'http',
        protocol: 'http' as const,
        endpoints: [{ address, inboundPort, targetPort: 80, spiffeId: `spiffe://cluster.local/ns/default/sa/${host.split('.')[0]!}`, mtls: false, workload: `default/${host.split('.')[0]!}-1` }],
        ...(http && { http }),
      },
    ],
  };
}

function post(port: number, path: string, body: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { host: 'orders', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('request bodies: retried and mirrored from the retry buffer', () => {
  const seen: Seen[] = [];
  const shadowSeen: Seen[] = [];
  const upstream = recordingServer(seen);
  const shadow = recordingServer(shadowSeen);
  const rt = testRuntime();
  const proxy = createOutboundServer(rt);
  let proxyPort = 0;

  before(async () => {
    const up = await listen(upstream, '127.0.0.1');
    const sh = await listen(shadow, '127.0.0.2');
    const routes: HttpRoute[] = [
      { source: 'default/orders#0', name: 'mirrored', match: [{ uri: { prefix: '/mirrored' } }], destinations: [{ host: HOST, port: 80, weight: 100 }], timeoutMs: 0, mirrors: [{ host: SHADOW, port: 80, percent: 100 }] },
      { source: 'default/orders#1', name: 'rest', match: [], destinations: [{ host: HOST, port: 80, weight: 100 }], timeoutMs: 0 },
    ];
    const cfg: ProxyConfig = {
      schema: PROXY_CONFIG_SCHEMA,
      version: 'v1',
      proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: {} },
      trustDomain: 'cluster.local',
      inbound: null,
      outbound: { services: [service(HOST, '127.0.0.1', up, routes), service(SHADOW, '127.0.0.2', sh)], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
      gateway: null,
      security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
    };
    installConfig(rt, acceptProxyConfig(cfg));
    proxyPort = await new Promise<number>((r) => proxy.listen(0, '127.0.0.1', () => r((proxy.address() as { port: number }).port)));
  });
  after(async () => {
    proxy.close();
    upstream.close();
    shadow.close();
    await rt.pools.close();
  });

  test('a POST answered 503 is retried with the same body (Istio\'s default retry policy)', async () => {
    const r = await post(proxyPort, '/fail-once/a', 'order=42&qty=3');
    assert.deepEqual([r.status, r.text], [200, 'ok 14']);
    const mine = seen.filter((s) => s.path === '/fail-once/a');
    assert.deepEqual(
      mine.map((s) => s.body),
      ['order=42&qty=3', 'order=42&qty=3'],
    );
  });

  test('a POST larger than the retry buffer is sent once, whole', async () => {
    const big = Buffer.alloc(RETRY_BUFFER_LIMIT_BYTES + 64 * 1024, 0x61);
    const r = await post(proxyPort, '/always-503/big', big);
    assert.equal(r.status, 503);
    const mine = seen.filter((s) => s.path === '/always-503/big');
    assert.deepEqual(
      mine.map((s) => s.bytes),
      [big.length],
    );
  });

  test('a POST within the buffer that keeps failing is tried three times', async () => {
    const r = await post(proxyPort, '/always-503/small', 'x'.repeat(1000));
    assert.equal(r.status, 503);
    assert.equal(seen.filter((s) => s.path === '/always-503/small' && s.bytes === 1000).length, 3);
  });

  test('a mirror target sees the POST body', async () => {
    const r = await post(proxyPort, '/mirrored/1', 'shadowed body');
    assert.equal(r.status, 200);
    // The mirror is fire-and-forget: wait for it to arrive rather than for a time.
    while (!shadowSeen.some((s) => s.path === '/mirrored/1')) await new Promise((res) => setImmediate(res));
    assert.deepEqual(shadowSeen.find((s) => s.path === '/mirrored/1')!.body, 'shadowed body');
  });

  test('an oversize POST on a mirrored route reaches the upstream and no mirror', async () => {
    const big = Buffer.alloc(RETRY_BUFFER_LIMIT_BYTES + 1, 0x62);
    const r = await post(proxyPort, '/mirrored/big', big);
    assert.deepEqual([r.status, r.text], [200, `ok ${big.length}`]);
    // The small request after it is mirrored; the big one before it never was.
    await post(proxyPort, '/mirrored/after', 'x');
    while (!shadowSeen.some((s) => s.path === '/mirrored/after')) await new Promise((res) => setImmediate(res));
    assert.equal(shadowSeen.some((s) => s.path === '/mirrored/big'), false);
  });
});
