/**
 * DestinationRule `proxyProtocol` and `tunnel` on HTTP ports, through the outbound listener to a real upstream: each
 * client connection's requests (HTTP/1.1, or streams of an HTTP/2 session) go on upstream connections of its own that
 * start with its PROXY header (read strictly) and close with it; `tunnel` does not apply to HTTP (Istio: "can't be applied to HTTP routes"), so the
 * requests arrive as they are, not inside a CONNECT.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { PortCluster, ProxyConfig, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundListener } from '../outbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import { listenOnLoopback } from '../loopback.fixture.js';
import { readProxyHeaders } from '../../../test/support/proxy-protocol-server.js';

const WITH = 'orders.default.svc.cluster.local';
const WITHOUT = 'stock.default.svc.cluster.local';
const methods: string[] = [];
const app = http.createServer((req, res) => {
  methods.push(req.method ?? '');
  res.end('ok');
});
const upstream = readProxyHeaders(({ socket }) => app.emit('connection', socket));
const STREAMS = 'streams.default.svc.cluster.local';
const h2App = http2.createServer();
h2App.on('stream', (stream) => {
  stream.respond({ ':status': 200 });
  stream.end('ok');
});
const h2Upstream = readProxyHeaders((c) => h2App.emit('connection', c.stream()));
const rt = testRuntime();
const proxy = createOutboundListener(rt);
let proxyPort = 0;

function service(host: string, inboundPort: number, policy: Partial<TrafficPolicyConfig>, protocol: 'http' | 'http2' = 'http'): ProxyConfig['outbound']['services'][number] {
  const name = host.split('.')[0]!;
  const cluster: PortCluster = { name: `outbound|80||${host}`, host, port: 80, subset: null, labels: {}, destinationRules: [`default/${name}`], policy: { ...DEFAULT_TRAFFIC_POLICY, ...policy }, endpoints: ['127.0.0.1'] };
  return {
    host,
    namespace: 'default',
    aliases: [name],
    addresses: [],
    ports: [{ port: 80, name: protocol, protocol, endpoints: [{ address: '127.0.0.1', inboundPort, targetPort: 80, spiffeId: `spiffe://cluster.local/ns/default/sa/${name}`, mtls: false, workload: `default/${name}-1` }], clusters: [cluster] }],
  };
}

before(async () => {
  const port = await listenOnLoopback(upstream.server);
  const h2Port = await listenOnLoopback(h2Upstream.server);
  const tunnel = { protocol: 'CONNECT' as const, targetHost: 'elsewhere.example.com', targetPort: 443 };
  const cfg: ProxyConfig = {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v1',
    proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    // A merged subset may carry both (destination-rule.test.ts); here both on one cluster, to show which applies to HTTP.
    outbound: { services: [service(WITH, port, { proxyProtocol: 'V1', tunnel }), service(WITHOUT, port, {}), service(STREAMS, h2Port, { proxyProtocol: 'V2' }, 'http2')], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
  installConfig(rt, acceptProxyConfig(cfg));
  proxyPort = await listenOnLoopback(proxy);
});
after(async () => {
  proxy.close();
  for (const c of [...upstream.received, ...h2Upstream.received]) c.socket.destroy();
  upstream.server.close();
  h2Upstream.server.close();
  await rt.pools.close();
});

/** A client connection that keeps alive, and its requests. */
function clientConnection(): { agent: http.Agent; get(host: string): Promise<{ status: number; sourcePort: number }> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    agent,
    get: (host) =>
      new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: proxyPort, path: '/', headers: { host: host.split('.')[0]! }, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sourcePort: (req.socket as net.Socket).localPort ?? 0 }));
        });
        req.on('error', reject);
      }),
  };
}

test("each client connection's requests ride upstream connections of its own, each starting with its PROXY header", async () => {
  const a = clientConnection();
  const b = clientConnection();
  const start = upstream.received.length;
  const first = await a.get(WITH);
  const second = await a.get(WITH);
  const third = await b.get(WITH);
  assert.deepEqual([first.status, second.status, third.status], [200, 200, 200]);
  assert.equal(first.sourcePort, second.sourcePort, 'one kept-alive client connection');
  const seen = upstream.received.slice(start);
  // The destination is the proxy's end of the client's connection: an http_proxy client dialled the listener.
  const header = (sourcePort: number) => ({ version: 1, command: 'PROXY', family: 'TCP4', source: '127.0.0.1', sourcePort, destination: '127.0.0.1', destinationPort: proxyPort });
  assert.deepEqual(seen.at(-1)?.header, header(third.sourcePort));
  for (const c of seen.slice(0, -1)) assert.deepEqual(c.header, header(first.sourcePort));
  assert.deepEqual(methods.slice(-3), ['GET', 'GET', 'GET'], 'no tunnel on an HTTP port: the requests arrive as sent');
  // a's client connection closes: so do the upstream connections opened for it.
  await Promise.all([...seen.slice(0, -1).map((c) => once(c.socket, 'close')), Promise.resolve(a.agent.destroy())]);
  b.agent.destroy();
  assert.deepEqual(upstream.errors, []);
});

test('a service without the setting: no header', async () => {
  const c = clientConnection();
  const start = upstream.received.length;
  assert.equal((await c.get(WITHOUT)).status, 200);
  assert.deepEqual(upstream.received.slice(start).map((r) => r.header), [null]);
  c.agent.destroy();
});

test("HTTP/2: a client session's streams go on upstream sessions of its own, starting with its header, closed with it", async () => {
  const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
  await once(session, 'connect');
  const sourcePort = session.socket.localPort;
  for (let i = 0; i < 2; i++) {
    const req = session.request({ ':path': '/', ':authority': 'streams' });
    req.resume();
    const [headers] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
    assert.equal(headers[':status'], 200);
    await once(req, 'end');
  }
  assert.equal(h2Upstream.received.length, 1, 'one upstream session carried both streams');
  assert.deepEqual(h2Upstream.received[0]!.header, { version: 2, command: 'PROXY', family: 'TCP4', source: '127.0.0.1', sourcePort, destination: '127.0.0.1', destinationPort: proxyPort });
  const closed = once(h2Upstream.received[0]!.socket, 'close');
  session.close();
  await closed;
  assert.deepEqual(h2Upstream.errors, []);
});
