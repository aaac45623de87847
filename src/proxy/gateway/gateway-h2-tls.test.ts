/**
 * The ingress gateway speaking HTTP/2 over TLS: a Gateway server that terminates TLS offers ALPN h2 and http/1.1,
 * and an h2 connection is routed per stream through the same chain, with the server's own routes (by SNI) and its
 * client-certificate rules. Real clients: node:http2, curl --http2, grpc-js with TLS credentials, and HTTP/1.1
 * over the same port. The HTTP/2 attack bounds hold over TLS too (rapid reset, more streams than advertised).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { ProxyConfig, VirtualHost } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import type { RootCaPem } from '../../identity/root-ca.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { RawH2 } from '../http2/raw-h2.fixture.js';
import { STREAMS_OVER_LIMIT, openTooManyStreams, rapidReset } from '../h2-attacks.fixture.js';
import { serverTls } from './gateway-config.fixture.js';
import { TestCa } from './test-certificates.fixture.js';
import type { TestCertificate } from './test-certificates.fixture.js';
import { createGatewayListeners } from './index.js';
import type { GatewayListeners } from './index.js';
import { echoService, startEchoServer } from '../../../examples/grpc-echo/echo-server.js';
import type { EchoReply, EchoRequest, EchoServer } from '../../../examples/grpc-echo/echo-server.js';

const ECHO = 'echo.default.svc.cluster.local';
const WEB = 'web.default.svc.cluster.local';
const GATEWAY_PORT = 8443;
const PUBLIC = 'api.example.com';
const MUTUAL = 'mtls.example.com';

/** What the HTTP/2 web backend saw of each request. */
const seen: http2.IncomingHttpHeaders[] = [];
const web = http2.createServer();
web.on('stream', (stream, headers) => {
  stream.on('error', () => undefined);
  seen.push(headers);
  stream.resume();
  stream.once('end', () => {
    if (stream.closed) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain' });
    stream.end(`web ${headers[':path'] ?? ''}`);
  });
});

const toWeb = (domain: string): VirtualHost => ({ gateway: 'istio-system/gw', domains: [domain], routes: [{ source: 'default/web#0', name: '', match: [], destinations: [{ host: WEB, port: 8080, weight: 100 }], timeoutMs: 0 }] });

function config(webPort: number, echo: EchoServer, cert: TestCertificate, clientCa: string): ProxyConfig {
  const pem = cert as unknown as RootCaPem;
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'tls-h2',
    proxy: { role: 'gateway', namespace: 'istio-system', name: 'gw', spiffeId: 'spiffe://cluster.local/ns/istio-system/sa/gw', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        { host: WEB, namespace: 'default', aliases: [], addresses: [], ports: [{ port: 8080, name: 'http2', protocol: 'http2', endpoints: [{ address: '127.0.0.1', inboundPort: webPort, targetPort: 8080, spiffeId: 'spiffe://cluster.local/ns/default/sa/web', mtls: false, workload: 'default/web-1' }] }] },
        { host: ECHO, namespace: 'default', aliases: [], addresses: [], ports: [{ port: 50051, name: 'grpc', protocol: 'grpc', endpoints: [{ address: '127.0.0.1', inboundPort: echo.port, targetPort: 50051, spiffeId: 'spiffe://cluster.local/ns/default/sa/echo', mtls: false, workload: 'default/echo-1' }] }] },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: {
      servers: [
        {
          port: GATEWAY_PORT,
          name: 'https',
          protocol: 'HTTPS',
          virtualHosts: [],
          chains: [
            {
              server: 'istio-system/gw/public',
              sniHosts: [PUBLIC],
              tls: serverTls(pem),
              virtualHosts: [toWeb(PUBLIC), { gateway: 'istio-system/gw', domains: ['grpc.example.com'], routes: [{ source: 'default/echo#0', name: '', match: [], destinations: [{ host: ECHO, port: 50051, weight: 100 }], timeoutMs: 0 }] }],
            },
            { server: 'istio-system/gw/mutual', sniHosts: [MUTUAL], tls: serverTls(pem, { mode: 'MUTUAL', clientCa: { secret: 's/ca', pem: clientCa } }), virtualHosts: [toWeb(MUTUAL)] },
          ],
        },
      ],
    },
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

describe('ingress gateway: HTTP/2 over TLS (ALPN h2)', async () => {
  const ca = await TestCa.create('gateway CA');
  const cert = await ca.leaf(PUBLIC);
  const mutualCert = await ca.leaf(MUTUAL);
  const clientCa = await TestCa.create('client CA');
  const clientCert = await clientCa.leaf('client.example.com');
  const log: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => log.push(e) } });
  let listeners: GatewayListeners | undefined;
  let echo: EchoServer;
  let port = 0;
  const sessions = new Set<http2.ServerHttp2Session>();
  web.on('session', (s: http2.ServerHttp2Session) => sessions.add(s));

  const connect = (servername: string, extra: tls.ConnectionOptions = {}): http2.ClientHttp2Session => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { servername, ca: ca.certPem, ...extra } as http2.SecureClientSessionOptions);
    s.on('error', () => undefined);
    return s;
  };
  const get = (s: http2.ClientHttp2Session, authority: string, path = '/hello'): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = s.request({ ':method': 'GET', ':path': path, ':authority': authority });
      let body = '';
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('error', reject);
      req.on('close', () => resolve({ status, body }));
      req.end();
    });
  /** A well-behaved h2 request on a new TLS connection: the gateway still serves. */
  const stillServes = async (): Promise<void> => {
    const s = connect(PUBLIC);
    try {
      assert.equal((await get(s, PUBLIC, '/ok')).status, 200);
    } finally {
      s.close();
    }
  };
  const rawTls = (): RawH2 => new RawH2(port, tls.connect({ host: '127.0.0.1', port, servername: PUBLIC, ALPNProtocols: ['h2'], rejectUnauthorized: false }));

  before(async () => {
    // The certificate's chain for the server: leaf then CA, so clients that trust the CA verify it.
    const chained = { certPem: `${cert.certPem}\n${ca.certPem}`, keyPem: cert.keyPem };
    const mutualChained = { certPem: `${mutualCert.certPem}\n${ca.certPem}`, keyPem: mutualCert.keyPem };
    const webPort = await listenOnLoopback(web);
    echo = await startEchoServer('echo-1', '127.0.0.1');
    const cfg = config(webPort, echo, chained, clientCa.certPem);
    // The mutual server presents its own name.
    cfg.gateway!.servers[0]!.chains![1]!.tls = serverTls(mutualChained as unknown as RootCaPem, { mode: 'MUTUAL', clientCa: { secret: 's/ca', pem: clientCa.certPem } });
    installConfig(rt, acceptProxyConfig(cfg));
    listeners = createGatewayListeners(rt, '127.0.0.1', new Map([[GATEWAY_PORT, 0]]));
    await listeners.reconcile(rt.config!);
    port = Number(listeners.addresses()[String(GATEWAY_PORT)]!.split(':')[1]);
  });
  after(async () => {
    await listeners?.close();
    for (const s of sessions) s.destroy();
    web.close();
    echo.server.forceShutdown();
  });

  test('node:http2 over TLS: ALPN h2, routed by the SNI server\'s routes, x-forwarded-proto https', async () => {
    const s = connect(PUBLIC);
    try {
      const a = await get(s, PUBLIC);
      assert.deepEqual(a, { status: 200, body: 'web /hello' });
      assert.equal((s.socket as tls.TLSSocket).alpnProtocol, 'h2');
      assert.equal(seen.at(-1)!['x-forwarded-proto'], 'https');
      const e = log.at(-1)!;
      assert.deepEqual([e.direction, e.status, e.authority, e.destinationService], ['gateway', 200, PUBLIC, WEB]);
      // Streams of one connection, one request each.
      const many = await Promise.all([get(s, PUBLIC, '/a'), get(s, PUBLIC, '/b'), get(s, PUBLIC, '/c')]);
      assert.deepEqual(many.map((m) => m.body), ['web /a', 'web /b', 'web /c']);
      // Another server's host is not reachable through this server's connection (its own route table).
      assert.equal((await get(s, MUTUAL)).status, 404);
    } finally {
      s.close();
    }
  });

  test('HTTP/1.1 over the same TLS port still works (a client that offers no ALPN)', async () => {
    const r = await new Promise<{ status: number; body: string; alpn: string | false | null }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/h1', servername: PUBLIC, headers: { host: PUBLIC }, ca: ca.certPem, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, alpn: (res.socket as tls.TLSSocket).alpnProtocol }));
      });
      req.on('error', reject);
    });
    assert.deepEqual(r, { status: 200, body: 'web /h1', alpn: false });
  });

  test('curl --http2 over TLS', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-gw-h2-'));
    try {
      const caFile = path.join(dir, 'ca.pem');
      fs.writeFileSync(caFile, ca.certPem);
      const out = await new Promise<string>((resolve) =>
        execFile('curl', ['-sS', '--http2', '--cacert', caFile, '--resolve', `${PUBLIC}:${port}:127.0.0.1`, '-w', ' %{http_version} %{http_code}', `https://${PUBLIC}:${port}/curl`], { timeout: 20_000 }, (err, stdout, stderr) =>
          resolve(err ? `error ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ENOENT' : stderr}` : stdout),
        ),
      );
      // curl is a system tool (scripts/install-system-deps.sh); where it is missing there is nothing to run.
      if (out === 'error ENOENT') return;
      assert.equal(out, 'web /curl 2 200');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('grpc-js with TLS credentials through the gateway', async () => {
    const Echo = echoService();
    const client = new Echo(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(ca.certPem)), { 'grpc.ssl_target_name_override': PUBLIC, 'grpc.default_authority': 'grpc.example.com' }) as unknown as grpc.Client & {
      say(req: EchoRequest, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): void;
    };
    try {
      const reply = await new Promise<EchoReply | undefined>((resolve, reject) => client.say({ message: 'over tls' }, (err, r) => (err ? reject(err) : resolve(r))));
      assert.deepEqual([reply?.message, reply?.pod], ['over tls', 'echo-1']);
      const e = log.at(-1)!;
      assert.deepEqual([e.direction, e.protocol, e.grpcStatus], ['gateway', 'grpc', 0]);
    } finally {
      client.close();
    }
  });

  test('MUTUAL: h2 with the client certificate is served; without one the handshake is refused', async () => {
    const withCert = connect(MUTUAL, { cert: clientCert.certPem, key: clientCert.keyPem });
    try {
      assert.deepEqual(await get(withCert, MUTUAL), { status: 200, body: 'web /hello' });
    } finally {
      withCert.close();
    }
    const without = connect(MUTUAL);
    const outcome = await new Promise<string>((resolve) => {
      without.once('error', (e) => resolve(`error ${e.message}`));
      without.once('close', () => resolve('closed'));
      without.once('connect', () => {
        const req = without.request({ ':path': '/', ':authority': MUTUAL });
        req.on('error', (e) => resolve(`error ${e.message}`));
        req.on('response', () => resolve('answered'));
        req.end();
      });
    });
    without.destroy();
    assert.notEqual(outcome, 'answered');
  });

  test('rapid reset over TLS ends the session; the gateway serves others', async () => {
    const c = rawTls();
    assert.ok(await rapidReset(c, PUBLIC), 'the session was ended');
    c.close();
    await stillServes();
  });

  test('more streams than advertised over TLS: the excess is refused with REFUSED_STREAM', async () => {
    const c = rawTls();
    assert.ok((await openTooManyStreams(c, PUBLIC)) >= STREAMS_OVER_LIMIT);
    c.close();
    await stillServes();
  });
});
