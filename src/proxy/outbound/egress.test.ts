/** The outbound listener in http_proxy mode (no capture): absolute-form requests and CONNECT to destinations outside the mesh. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { createOutboundServer } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';
import { connectThrough } from './connect-through.fixture.js';

const echo = net.createServer((s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});
const web = http.createServer((req, res) => res.end(`web saw ${req.headers.host ?? ''} ${req.url ?? ''}`));
let echoPort = 0;
let webPort = 0;

function config(trafficPolicy: 'REGISTRY_ONLY' | 'ALLOW_ANY'): ProxyConfig {
  return sidecarConfig({
    version: trafficPolicy,
    trafficPolicy,
    externals: [
      externalService('default/api', ['api.example'], [{ port: 80, name: 'http', protocol: 'http', targetPort: webPort }], { resolution: 'DNS' }),
      externalService('default/db', ['db.example'], [{ port: 5432, name: 'pg', protocol: 'tcp', targetPort: 5432 }], {
        resolution: 'STATIC',
        endpoints: [{ address: '127.0.0.1', ports: { pg: echoPort } }],
      }),
    ],
  });
}

async function outbound(trafficPolicy: 'REGISTRY_ONLY' | 'ALLOW_ANY'): Promise<{ rt: ProxyRuntime; entries: AccessLogEntry[]; server: http.Server; port: number }> {
  const entries: AccessLogEntry[] = [];
  const rt: ProxyRuntime = testRuntime({
    config: acceptProxyConfig(config(trafficPolicy)),
    cert: undefined as unknown as WorkloadCertificate,
    telemetry: { record: (e) => void entries.push(e) },
    // Upstream DNS knows api.example as loopback; nothing else.
    resolver: { resolve: (host) => (net.isIP(host) ? Promise.resolve(host) : host === 'api.example' ? Promise.resolve('127.0.0.1') : Promise.reject(new Error(`NXDOMAIN ${host}`))) },
  });
  const server = createOutboundServer(rt);
  return { rt, entries, server, port: await listenOnLoopback(server) };
}

function proxyGet(port: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: url, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** CONNECT through the proxy; on 200, send `data` and read the echo. */
before(async () => {
  echoPort = await listenOnLoopback(echo);
  webPort = await listenOnLoopback(web);
});
after(() => {
  echo.close();
  web.close();
});

describe('http_proxy mode under REGISTRY_ONLY', () => {
  let o: Awaited<ReturnType<typeof outbound>>;
  before(async () => (o = await outbound('REGISTRY_ONLY')));
  after(async () => {
    o.server.close();
    await o.rt.pools.close();
  });

  test('an unknown host gets 502 naming it', async () => {
    const r = await proxyGet(o.port, 'http://nosuch:8000/get');
    assert.deepEqual(r, { status: 502, body: 'egress denied: REGISTRY_ONLY, no ServiceEntry for nosuch:8000\n' });
    assert.equal(o.entries.at(-1)?.upstream, 'BlackHoleCluster');
  });

  test('a ServiceEntry http host (DNS resolution of the host) is forwarded to its targetPort', async () => {
    const r = await proxyGet(o.port, 'http://api.example/v1');
    assert.deepEqual(r, { status: 200, body: 'web saw api.example /v1' });
    assert.equal(o.entries.at(-1)?.upstream, `127.0.0.1:${webPort}`);
  });

  test('CONNECT to a ServiceEntry tcp host tunnels to its endpoint', async () => {
    assert.deepEqual(await connectThrough(o.port, 'db.example:5432', 'select 1'), { status: 200, echoed: 'select 1' });
  });

  test('CONNECT to anything else is refused with 502', async () => {
    assert.deepEqual(await connectThrough(o.port, `127.0.0.1:${echoPort}`, 'x'), { status: 502, echoed: '' });
    assert.equal(o.entries.at(-1)?.reason, `egress denied: REGISTRY_ONLY, no ServiceEntry for 127.0.0.1:${echoPort}`);
  });
});

describe('http_proxy mode under ALLOW_ANY', () => {
  let o: Awaited<ReturnType<typeof outbound>>;
  before(async () => (o = await outbound('ALLOW_ANY')));
  after(async () => {
    o.server.close();
    await o.rt.pools.close();
  });

  test('an unknown authority is passed through to itself', async () => {
    const r = await proxyGet(o.port, `http://127.0.0.1:${webPort}/open`);
    assert.deepEqual(r, { status: 200, body: `web saw 127.0.0.1:${webPort} /open` });
    assert.equal(o.entries.at(-1)?.egress?.decision, 'passthrough');
  });

  test('a name upstream DNS cannot resolve: 503 with the reason', async () => {
    const r = await proxyGet(o.port, 'http://nosuch.example/');
    assert.equal(r.status, 503);
    assert.match(r.body, /NXDOMAIN nosuch\.example/);
  });

  test('CONNECT to an unknown host:port tunnels plain TCP', async () => {
    assert.deepEqual(await connectThrough(o.port, `127.0.0.1:${echoPort}`, 'hi'), { status: 200, echoed: 'hi' });
  });
});
