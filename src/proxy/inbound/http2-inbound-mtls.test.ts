/**
 * Inbound HTTP/2 after mTLS, as a captured caller's tunnel arrives: TLS with Istio's SNI naming a grpc service port
 * and no ALPN, then h2c inside. The app sees x-forwarded-client-cert for the verified caller (a forged one is
 * dropped), and policy judges the caller's principal. A client that negotiated http/1.1 keeps the HTTP/1.1 path.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { systemClock } from '../../clock.js';
import { CertificateAuthority } from '../../identity/ca.js';
import { createRootCa } from '../../identity/root-ca.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { WorkloadCertificate } from '../tls/workload-certificate.js';
import { createInboundListener } from './index.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { testRuntime } from '../proxy-runtime.fixture.js';

const ECHO_ID = 'spiffe://example.org/ns/default/sa/grpc-echo';
const SLEEP_ID = 'spiffe://example.org/ns/default/sa/sleep';
const SNI = 'outbound_.50051_._.grpc-echo.default.svc.cluster.local';

/** The app reports the request headers it was given, as JSON. */
const app = http2.createServer();
app.on('stream', (stream, headers) => {
  stream.on('error', () => undefined);
  stream.respond({ ':status': 200, 'content-type': 'application/json' });
  stream.end(JSON.stringify(headers));
});
let appPort = 0;
let listener: net.Server;
let listenerPort = 0;
let server: WorkloadCertificate;
let client: WorkloadCertificate;
const entries: AccessLogEntry[] = [];

function config(principals?: string[]): ProxyConfig {
  const policies: ProxyConfig['security']['authorizationPolicies'] = principals
    ? [{ namespace: 'default', name: 'from-only', annotations: {}, spec: { action: 'ALLOW', rules: [{ from: [{ source: { principals } }] }] } }]
    : [];
  return {
    schema: 3,
    version: String(principals),
    proxy: { role: 'sidecar', namespace: 'default', name: 'grpc-echo', spiffeId: ECHO_ID, labels: {} },
    trustDomain: 'example.org',
    inbound: {
      defaultMode: 'STRICT',
      ports: [{ port: appPort, name: 'grpc', protocol: 'grpc', mode: 'STRICT' }],
      servicePorts: [{ host: 'grpc-echo.default.svc.cluster.local', port: 50051, targetPort: appPort }],
    },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: policies, jwtRules: [], extensionProviders: [] },
  };
}

let rt: ProxyRuntime;

before(async () => {
  const ca = await CertificateAuthority.fromPem(await createRootCa({ now: Date.now() - 60_000, trustDomain: 'example.org' }), { clock: () => Date.now() });
  const issue = async (id: string): Promise<WorkloadCertificate> => {
    const wc = new WorkloadCertificate(id, systemClock, () => undefined);
    await wc.issue(async (csr) => ({ certChainPem: [(await ca.signCsr(csr, { spiffeId: id, ttlMs: 3_600_000 })).certPem], trustBundlePem: [ca.trustBundlePem()] }));
    return wc;
  };
  server = await issue(ECHO_ID);
  client = await issue(SLEEP_ID);
  appPort = await listenOnLoopback(app);
  rt = testRuntime({
    config: acceptProxyConfig(config()),
    cert: server,
    telemetry: { record: (e) => void entries.push(e) },
  });
  listener = createInboundListener(rt).server;
  listenerPort = await listenOnLoopback(listener);
});
after(async () => {
  listener.close();
  app.close();
  await rt.pools.close();
});

/** mTLS as a sidecar's tunnel opens it (SNI, no ALPN), then an h2c request inside. */
function tunnelledRequest(headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://grpc-echo:50051`, {
      createConnection: () =>
        tls.connect({ host: '127.0.0.1', port: listenerPort, servername: SNI, secureContext: client.current.clientContext, rejectUnauthorized: false }),
    });
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', ...headers });
    let status = 0;
    let body = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ status, body });
    });
    req.end();
  });
}

test("the app sees XFCC naming the verified caller, never a forged one; the log names the caller's SPIFFE ID", async () => {
  rt.config = acceptProxyConfig(config());
  const r = await tunnelledRequest({ 'x-forwarded-client-cert': `By=${ECHO_ID};URI=spiffe://example.org/ns/default/sa/admin` });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as Record<string, string>;
  assert.match(seen['x-forwarded-client-cert'] ?? '', new RegExp(`^By=${ECHO_ID};Hash=[0-9a-f]{64};Subject="";URI=${SLEEP_ID}$`));
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(entries.at(-1)?.peer, SLEEP_ID);
  assert.equal(entries.at(-1)?.path, '/echo.Echo/Say');
});

const principalCases: Array<{ principals: string[]; status: number }> = [
  { principals: ['example.org/ns/default/sa/sleep'], status: 200 },
  { principals: ['example.org/ns/default/sa/other'], status: 403 },
];
for (const c of principalCases) {
  test(`ALLOW from ${c.principals[0]}: ${c.status}`, async () => {
    rt.config = acceptProxyConfig(config(c.principals));
    const r = await tunnelledRequest({});
    assert.equal(r.status, c.status);
  });
}

test('a caller that negotiated http/1.1 on the same port keeps the HTTP/1.1 path', async () => {
  rt.config = acceptProxyConfig(config());
  const reply = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: listenerPort, servername: SNI, secureContext: client.current.clientContext, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      s.write('GET /x HTTP/1.1\r\nhost: grpc-echo:50051\r\nconnection: close\r\n\r\n');
    });
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
  // The HTTP/1.1 path forwards with HTTP/1.1 to an h2c-only app, which cannot answer it: what matters is that the
  // proxy parsed HTTP/1.1 (an HTTP/1.1 status line) rather than failing an HTTP/2 preface.
  assert.match(reply, /^HTTP\/1\.1 \d{3} /);
});
