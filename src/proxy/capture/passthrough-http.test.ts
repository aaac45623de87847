/**
 * PASSTHROUGH for HTTP at a sidecar: a captured request the app sent to one endpoint's address goes to that
 * endpoint, through the request path (routes, retries and all), instead of one the balancer would choose; sent to
 * the service's address, which no endpoint has, it finds no healthy upstream (503 UH).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import { createCaptureListener } from './capture-listener.js';
import type { OriginalDst } from './original-dst.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { sidecarConfig } from '../sidecar-config.fixture.js';

const HOST = 'web.default.svc.cluster.local';
const VIP = '198.19.0.30';
const servers = ['127.0.0.2', '127.0.0.3'].map((address) => ({ address, server: http.createServer((_q, res) => res.end(`from ${address}`)) }));
let port = 0;
let capturePort = 0;
let dialled: OriginalDst = { address: VIP, port: 0 };
let capture: net.Server;

function config(): ProxyConfig {
  const endpoints = servers.map(({ address }) => ({ address, inboundPort: port, targetPort: port, spiffeId: 'spiffe://example.org/ns/default/sa/web', mtls: false, workload: `default/web-${address}` }));
  return sidecarConfig({
    version: 'passthrough',
    services: [
      {
        host: HOST,
        namespace: 'default',
        aliases: ['web'],
        ports: [
          {
            port,
            name: 'http',
            protocol: 'http',
            endpoints,
            clusters: [{ name: `outbound|${port}||${HOST}`, host: HOST, port, subset: null, labels: {}, destinationRules: ['default/web'], policy: { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'PASSTHROUGH' } }, endpoints: endpoints.map((e) => e.address) }],
          },
        ],
        addresses: [VIP],
      },
    ],
  });
}

function get(): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: capturePort, path: '/', headers: { host: `web:${port}` }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  // Both endpoints on the same port, as pods of one Deployment are.
  await new Promise<void>((r) => servers[0]!.server.listen(0, servers[0]!.address, r));
  port = (servers[0]!.server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => servers[1]!.server.listen(port, servers[1]!.address, r));
  const rt = testRuntime();
  installConfig(rt, acceptProxyConfig(config()));
  capture = createCaptureListener(rt, { lookup: () => dialled, firstBytesWaitMs: 200 });
  capturePort = await listenOnLoopback(capture);
});
after(() => {
  capture.close();
  for (const s of servers) s.server.close();
});

test('the endpoint the app dialled answers every time', async () => {
  for (const { address } of servers) {
    dialled = { address, port };
    for (let i = 0; i < 3; i++) assert.deepEqual(await get(), { status: 200, body: `from ${address}` });
  }
});

test("the service's own address: 503, no healthy upstream", async () => {
  dialled = { address: VIP, port };
  const r = await get();
  assert.equal(r.status, 503);
  assert.match(r.body, /no healthy upstream/);
});
