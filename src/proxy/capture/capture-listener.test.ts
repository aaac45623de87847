import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { ExternalService, ProxyConfig } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { installConfig } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { createCaptureListener } from './capture-listener.js';
import { parseClientHello } from './client-hello.js';
import type { OriginalDst } from './original-dst.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { externalService, sidecarConfig } from '../sidecar-config.fixture.js';

/** A listener on loopback that echoes; with a banner it speaks first, as SMTP or MySQL do. */
const echo = net.createServer((s) => {
  s.on('error', () => undefined);
  s.pipe(s);
});
const banner = net.createServer((s) => {
  s.on('error', () => undefined);
  s.end('220 banner\r\n');
});
/** Records the first bytes it gets, then echoes: stands in for a TLS server the sidecar must not terminate. */
const firstBytes: Buffer[] = [];
const recorder = net.createServer((s) => {
  s.on('error', () => undefined);
  s.once('data', (d: Buffer) => {
    firstBytes.push(d);
    s.end('recorded');
  });
});
const web = http.createServer((req, res) => res.end(`web saw ${req.headers.host ?? ''} ${req.url ?? ''}`));
let ports: { echo: number; banner: number; recorder: number; web: number };

function external(source: string, hosts: string[], port: number, protocol: 'http' | 'tls' | 'tcp', over: Partial<ExternalService> = {}): ExternalService {
  return externalService(source, hosts, [{ port, name: protocol, protocol, targetPort: port }], over);
}

function config(trafficPolicy: 'REGISTRY_ONLY' | 'ALLOW_ANY'): ProxyConfig {
  return sidecarConfig({
    version: trafficPolicy,
    trafficPolicy,
    services: [
      {
        host: 'web.default.svc.cluster.local',
        namespace: 'default',
        aliases: ['web'],
        // The endpoint accepts plaintext (DISABLE), so the test needs no certificates.
        ports: [{ port: 8000, name: 'http', protocol: 'http', endpoints: [{ address: '127.0.0.1', inboundPort: ports.web, targetPort: ports.web, spiffeId: 'spiffe://example.org/ns/default/sa/web', mtls: false, workload: 'default/web' }] }],
        addresses: ['198.19.0.10'],
      },
    ],
    externals: [
      external('default/outside-http', ['outside.example'], ports.web, 'http'),
      external('default/api-tls', ['api.example.com'], ports.recorder, 'tls'),
      external('default/db', ['db.example'], 5432, 'tcp', {
        addresses: ['203.0.113.0/24'],
        resolution: 'STATIC',
        endpoints: [{ address: '127.0.0.1', ports: { tcp: ports.echo } }],
      }),
    ],
  });
}

interface Harness {
  rt: ProxyRuntime;
  entries: AccessLogEntry[];
  metrics: ProxyMetrics;
  port: number;
  server: net.Server;
  /** The original destination the next captured connection claims. */
  dialled: OriginalDst;
}

async function harness(trafficPolicy: 'REGISTRY_ONLY' | 'ALLOW_ANY'): Promise<Harness> {
  const entries: AccessLogEntry[] = [];
  const metrics = new ProxyMetrics('default/sleep', () => h.rt?.config?.raw);
  const h = { entries, metrics, dialled: { address: '127.0.0.1', port: 1 } } as Harness;
  h.rt = testRuntime({
    cert: undefined as unknown as WorkloadCertificate,
    telemetry: { record: (e) => (entries.push(e), metrics.record(e)) },
    resolver: { resolve: (host) => (net.isIP(host) ? Promise.resolve(host) : Promise.reject(new Error(`no DNS in this test: ${host}`))) },
  });
  installConfig(h.rt, acceptProxyConfig(config(trafficPolicy)));
  h.server = createCaptureListener(h.rt, { lookup: () => h.dialled, firstBytesWaitMs: 200 });
  h.port = await listenOnLoopback(h.server);
  return h;
}

/** Connect through the capture listener, send `data` (if any), and collect everything until the peer closes. */
function exchange(h: Harness, data: string | undefined, endAfterMs = 1000): Promise<{ got: string; closedEarly: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(h.port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => c.end(), endAfterMs);
    c.on('data', (d: Buffer) => (got += d.toString('latin1')));
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve({ got, closedEarly: got === '' });
    });
    if (data !== undefined) c.write(data);
  });
}

function httpGet(h: Harness, host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: h.port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A real ClientHello naming `servername`, sent through the capture listener; settles when the connection closes. */
function tlsThrough(h: Harness, servername: string): Promise<void> {
  return new Promise((resolve) => {
    const t = tls.connect({ host: '127.0.0.1', port: h.port, servername, rejectUnauthorized: false });
    t.on('error', () => undefined);
    t.on('close', () => resolve());
  });
}

before(async () => {
  ports = { echo: await listenOnLoopback(echo), banner: await listenOnLoopback(banner), recorder: await listenOnLoopback(recorder), web: await listenOnLoopback(web) };
});
after(() => {
  for (const s of [echo, banner, recorder, web]) s.close();
});

const lastEntry = (h: Harness): AccessLogEntry | undefined => h.entries.at(-1);

/** A connection is logged when the proxy sees it close, which may be just after the client does. */
async function logged(h: Harness, count: number): Promise<AccessLogEntry | undefined> {
  for (let i = 0; i < 100 && h.entries.length < count; i++) await new Promise((r) => setTimeout(r, 10));
  return lastEntry(h);
}

describe('capture under ALLOW_ANY', () => {
  let h: Harness;
  before(async () => (h = await harness('ALLOW_ANY')));
  after(async () => {
    h.server.close();
    await h.rt.pools.close();
  });

  test('unknown TCP passes through to the original destination', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.echo };
    const before = h.entries.length;
    const r = await exchange(h, 'hello, echo', 300);
    assert.equal(r.got, 'hello, echo');
    assert.equal((await logged(h, before + 1))?.egress?.decision, 'passthrough');
  });

  test('a server-first protocol: after the wait, the server speaks', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.banner };
    const r = await exchange(h, undefined, 2000);
    assert.equal(r.got, '220 banner\r\n');
  });

  test('unknown HTTP passes through to the original destination with its Host as the app wrote it', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.web };
    const r = await httpGet(h, 'unlisted.example', '/x');
    assert.deepEqual(r, { status: 200, body: 'web saw unlisted.example /x' });
    assert.equal(lastEntry(h)?.egress?.decision, 'passthrough');
  });
});

describe('capture under REGISTRY_ONLY', () => {
  let h: Harness;
  before(async () => (h = await harness('REGISTRY_ONLY')));
  after(async () => {
    h.server.close();
    await h.rt.pools.close();
  });

  test('unknown TCP is closed, logged with the address and counted', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.echo };
    const r = await exchange(h, 'hello, echo');
    assert.equal(r.got, '');
    const e = lastEntry(h);
    assert.equal(e?.method, 'TCP');
    assert.deepEqual(e?.egress, { decision: 'denied', protocol: 'tcp', sni: undefined });
    assert.equal(e?.reason, `egress denied: REGISTRY_ONLY, no ServiceEntry for 127.0.0.1:${ports.echo}`);
    assert.match(await h.metrics.registry.metrics(), /weft_egress_denied_total\{protocol="tcp",workload="default\/sleep"\} 1/);
  });

  test('unknown HTTP gets 502 with the reason, logged as denied', async () => {
    h.dialled = { address: '127.0.0.1', port: 8080 };
    const r = await httpGet(h, 'outside.example.org:8080');
    assert.equal(r.status, 502);
    assert.equal(r.body, 'egress denied: REGISTRY_ONLY, no ServiceEntry for outside.example.org:8080\n');
    assert.equal(lastEntry(h)?.authority, 'outside.example.org:8080');
    assert.equal(lastEntry(h)?.egress?.decision, 'denied');
  });

  test('HTTP to a ServiceEntry host on its port is forwarded (resolution NONE: where the app dialled)', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.web };
    const r = await httpGet(h, 'outside.example');
    assert.deepEqual(r, { status: 200, body: 'web saw outside.example /' });
    assert.deepEqual(lastEntry(h)?.egress, { decision: 'external', protocol: 'http', serviceEntry: 'default/outside-http' });
  });

  test("a Host (or absolute URL) naming a ServiceEntry's port does not open another port dialled (resolution NONE)", async () => {
    h.dialled = { address: '127.0.0.1', port: ports.echo };
    for (const path of ['/', `http://outside.example:${ports.web}/`]) {
      const r = await httpGet(h, `outside.example:${ports.web}`, path);
      assert.equal(r.status, 502);
      assert.equal(r.body, `egress denied: REGISTRY_ONLY, no ServiceEntry for outside.example:${ports.echo}\n`);
      assert.deepEqual(lastEntry(h)?.egress, { decision: 'denied', protocol: 'http' });
    }
  });

  test('TLS with a ServiceEntry SNI passes through untouched', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.recorder };
    firstBytes.length = 0;
    const before = h.entries.length;
    await tlsThrough(h, 'api.example.com');
    const hello = parseClientHello(firstBytes[0] ?? Buffer.alloc(0));
    assert.deepEqual(hello, { kind: 'hello', sni: 'api.example.com' });
    assert.deepEqual((await logged(h, before + 1))?.egress, { decision: 'external', protocol: 'tls', serviceEntry: 'default/api-tls', sni: 'api.example.com' });
  });

  test('TLS with another SNI is closed and logged with the SNI', async () => {
    h.dialled = { address: '127.0.0.1', port: ports.recorder };
    firstBytes.length = 0;
    await tlsThrough(h, 'other.example.com');
    assert.equal(firstBytes.length, 0);
    assert.equal(lastEntry(h)?.reason, `egress denied: REGISTRY_ONLY, no ServiceEntry for SNI other.example.com on port ${ports.recorder} (dialled 127.0.0.1:${ports.recorder})`);
    assert.equal(lastEntry(h)?.authority, `other.example.com:${ports.recorder}`);
  });

  test('TCP to a ServiceEntry CIDR goes to its STATIC endpoint', async () => {
    h.dialled = { address: '203.0.113.77', port: 5432 };
    const before = h.entries.length;
    const r = await exchange(h, 'ping', 300);
    assert.equal(r.got, 'ping');
    assert.equal((await logged(h, before + 1))?.upstream, `127.0.0.1:${ports.echo}`);
  });

  test('TLS to a TCP ServiceEntry address is carried by that entry, whatever its SNI', async () => {
    h.dialled = { address: '203.0.113.77', port: 5432 };
    const before = h.entries.length;
    await tlsThrough(h, 'db.internal.example');
    const e = await logged(h, before + 1);
    assert.deepEqual(e?.egress, { decision: 'external', protocol: 'tls', serviceEntry: 'default/db', sni: 'db.internal.example' });
    assert.equal(e?.upstream, `127.0.0.1:${ports.echo}`);
  });

  test("a mesh service's VIP on an http port goes to the service (the VIP as Host names it)", async () => {
    h.dialled = { address: '198.19.0.10', port: 8000 };
    const r = await httpGet(h, '198.19.0.10:8000', '/vip');
    assert.deepEqual(r, { status: 200, body: 'web saw web.default.svc.cluster.local:8000 /vip' });
    assert.equal(lastEntry(h)?.upstream, 'default/web');
  });

  test('a connection without an original destination is closed', async () => {
    const server = createCaptureListener(h.rt, { lookup: () => undefined });
    const port = await listenOnLoopback(server);
    try {
      const got = await new Promise<string>((resolve) => {
        const c = net.connect(port, '127.0.0.1');
        let s = '';
        c.on('data', (d: Buffer) => (s += d.toString()));
        c.on('error', () => undefined);
        c.on('close', () => resolve(s));
      });
      assert.equal(got, '');
    } finally {
      server.close();
    }
  });
});
