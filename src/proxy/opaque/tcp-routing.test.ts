/**
 * Opaque connections to a mesh service port, captured and through CONNECT: VirtualService tcp routes (weighted to
 * subsets, destinationSubnets), tls routes by the ClientHello's SNI without terminating it, the cluster's breaker
 * (maxConnections with and without a pending slot: 503 UO), outlier detection fed by connect failures (UF), and a
 * route to an undefined subset (NR). The endpoints are plaintext (DISABLE) echo servers on loopback addresses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import type { ClusterConfig, L4Route, OutboundPort, ProxyConfig, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createCaptureListener } from '../capture/capture-listener.js';
import { createOutboundServer } from '../outbound/index.js';
import { parseClientHello } from '../capture/client-hello.js';
import { testRuntime } from '../proxy-runtime.fixture.js';

const HOST = 'tcp-echo.default.svc.cluster.local';
const VIP = '198.19.0.20';
const V1 = '127.0.0.2';
const V2 = '127.0.0.3';
/** Nothing listens on this one's port: connects are refused. */
const DEAD = '127.0.0.4';

/** An echo server that prefixes each chunk with its name; remembers the first bytes of each connection. */
class Echo {
  readonly server: net.Server;
  readonly firstBytes: Buffer[] = [];
  readonly open = new Set<net.Socket>();
  port = 0;
  constructor(
    readonly name: string,
    readonly address: string,
  ) {
    this.server = net.createServer((s) => {
      this.open.add(s);
      s.on('close', () => this.open.delete(s));
      s.on('error', () => undefined);
      s.once('data', (d: Buffer) => this.firstBytes.push(d));
      s.on('data', (d: Buffer) => s.write(`${name} ${d.toString('latin1')}`));
    });
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, this.address, r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
}

const v1 = new Echo('one', V1);
const v2 = new Echo('two', V2);
let deadPort = 0;

/** With `mtls`, the sidecar's inbound port is one nothing listens on: only plaintext to the app port reaches the echo. */
const endpoint = (address: string, port: number, version: string, mtls = false) => ({ address, inboundPort: mtls ? deadPort : port, targetPort: port, spiffeId: `spiffe://example.org/ns/default/sa/${version}`, mtls, workload: `default/tcp-echo-${version}` });

function cluster(subset: string | null, endpoints: string[], policy: Partial<TrafficPolicyConfig> = {}, port = 9000): ClusterConfig & { endpoints: string[] } {
  const labels: Record<string, string> = subset === null ? {} : { version: subset };
  return { name: `outbound|${port}|${subset ?? ''}|${HOST}`, host: HOST, port, subset, labels, destinationRules: ['default/tcp-echo'], policy: { ...DEFAULT_TRAFFIC_POLICY, ...policy }, endpoints };
}

interface Traffic {
  tcp?: L4Route[];
  tls?: L4Route[];
  policy?: Partial<TrafficPolicyConfig>;
  /** Endpoints of the whole service (default: v1 and v2). */
  all?: string[];
  /** The destinations' PeerAuthentication asks for mTLS (auto mTLS). */
  mtls?: boolean;
}

function config(t: Traffic): ProxyConfig {
  const eps = [endpoint(V1, v1.port, 'v1', t.mtls), endpoint(V2, v2.port, 'v2', t.mtls), endpoint(DEAD, deadPort, 'v3')];
  const port = (n: number, name: string, protocol: 'tcp' | 'tls'): OutboundPort => ({
    port: n,
    name,
    protocol,
    endpoints: eps,
    ...(t.tcp && { tcp: t.tcp }),
    ...(t.tls && { tls: t.tls }),
    clusters: [cluster(null, t.all ?? [V1, V2], t.policy, n), cluster('v1', [V1], t.policy, n), cluster('v2', [V2], t.policy, n), cluster('v3', [DEAD], t.policy, n)],
  });
  return {
    schema: 3,
    version: 'l4',
    proxy: { role: 'sidecar', namespace: 'default', name: 'sleep', spiffeId: 'spiffe://example.org/ns/default/sa/sleep', labels: {} },
    trustDomain: 'example.org',
    inbound: null,
    outbound: {
      services: [{ host: HOST, namespace: 'default', aliases: ['tcp-echo'], ports: [port(9000, 'tcp', 'tcp'), port(9443, 'tls', 'tls')], addresses: [VIP] }],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

const route = (destinations: Array<[string | undefined, number]>, match: L4Route['match'] = [], port = 9000): L4Route => ({
  source: 'default/tcp-echo#0',
  match,
  destinations: destinations.map(([subset, weight]) => ({ host: HOST, port, weight, ...(subset !== undefined && { subset }) })),
});

interface Proxy {
  rt: ProxyRuntime;
  entries: AccessLogEntry[];
  capture: number;
  outbound: number;
  dialledPort: number;
  dialledAddress: string;
  close(): void;
}

async function proxy(t: Traffic, random: () => number = Math.random): Promise<Proxy> {
  const entries: AccessLogEntry[] = [];
  const rt = testRuntime({ random, telemetry: { record: (e) => entries.push(e) } });
  installConfig(rt, acceptProxyConfig(config(t)));
  const p = { rt, entries, dialledPort: 9000, dialledAddress: VIP } as Proxy;
  const capture = createCaptureListener(rt, { lookup: () => ({ address: p.dialledAddress, port: p.dialledPort }), firstBytesWaitMs: 200 });
  const outbound = createOutboundServer(rt);
  await Promise.all([capture, outbound].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  p.capture = (capture.address() as net.AddressInfo).port;
  p.outbound = (outbound.address() as net.AddressInfo).port;
  p.close = () => {
    capture.close();
    outbound.close();
    rt.endpoints.close();
  };
  return p;
}

/** A captured connection: send a line, read the first answer (or '' if the proxy closed it). Stays open until `end`. */
function captured(p: Proxy, line = 'hi'): Promise<{ reply: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const s = net.connect(p.capture, '127.0.0.1', () => s.write(line));
    s.on('error', () => undefined);
    s.once('data', (d: Buffer) => resolve({ reply: d.toString('latin1'), socket: s }));
    s.once('close', () => resolve({ reply: '', socket: s }));
  });
}

async function capturedOnce(p: Proxy, line = 'hi'): Promise<string> {
  const { reply, socket } = await captured(p, line);
  socket.destroy();
  return reply;
}

/** Send a real ClientHello over a plain socket, so the answer can be read without a TLS client in the way. */
async function rawHello(port: number, servername: string, preamble?: string): Promise<string> {
  const hello = await clientHello(servername);
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(preamble === undefined ? hello : Buffer.concat([Buffer.from(preamble), hello])));
    s.on('error', () => undefined);
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (preamble !== undefined && got.startsWith('HTTP/1.1 200') && !got.includes('\r\n\r\n')) return;
      const body = preamble === undefined ? got : got.slice(got.indexOf('\r\n\r\n') + 4);
      if (body.length > 0) {
        s.destroy();
        resolve(body.slice(0, 3));
      }
    });
    s.on('close', () => resolve(''));
  });
}

/** The ClientHello Node's TLS client sends for a name. */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const t = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername, rejectUnauthorized: false });
      t.on('error', () => undefined);
    });
  });
}

/** CONNECT tcp-echo:<port> on the outbound listener, then a line; the first answer after the 200, or ''. */
function connectOnce(p: Proxy, target = 'tcp-echo:9000', line = 'hi'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(p.outbound, '127.0.0.1', () => s.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`));
    s.on('error', () => undefined);
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const at = got.indexOf('\r\n\r\n');
      if (at < 0) return;
      if (!got.startsWith('HTTP/1.1 200')) {
        s.destroy();
        return resolve(got.split('\r\n')[0]!);
      }
      const body = got.slice(at + 4);
      if (body === '') return s.write(line);
      s.destroy();
      resolve(body);
    });
    s.on('close', () => resolve(''));
  });
}

const lastEntry = (p: Proxy): AccessLogEntry | undefined => p.entries.at(-1);

before(async () => {
  await Promise.all([v1.listen(), v2.listen()]);
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, DEAD, r));
  deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise((r) => dead.close(r));
});
after(() => {
  v1.server.close();
  v2.server.close();
});

describe('tcp routes', () => {
  test('no route: the default route balances over the whole service', async () => {
    const p = await proxy({});
    const seen = new Set<string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) seen.add((await capturedOnce(p)).slice(0, 3));
    assert.deepEqual([...seen].sort(), ['one', 'two']);
    p.close();
  });
  // pickWeighted draws floor(random × 100): below 80 is v1, from 80 on is v2.
  const split: Array<[number, string]> = [[0, 'one hi'], [0.79, 'one hi'], [0.8, 'two hi'], [0.99, 'two hi']];
  for (const [r, want] of split) {
    test(`80/20 to subsets v1/v2: a draw of ${r} goes to ${want.split(' ')[0]}`, async () => {
      const p = await proxy({ tcp: [route([['v1', 80], ['v2', 20]])] }, () => r);
      assert.equal(await capturedOnce(p), want);
      assert.equal(await connectOnce(p), want, 'the CONNECT path routes the same way');
      p.close();
    });
  }
  test('the access log names the destination service and the endpoint', async () => {
    const p = await proxy({ tcp: [route([['v2', 100]])] });
    assert.equal(await capturedOnce(p), 'two hi');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(lastEntry(p)?.upstream, 'default/tcp-echo-v2');
    assert.equal(lastEntry(p)?.destinationService, HOST);
    p.close();
  });
  const subnets: Array<[string, string[], string]> = [
    ['the VIP inside the subnet', ['198.19.0.0/16'], 'two hi'],
    ['the VIP itself', [VIP], 'two hi'],
    ['another subnet: the next route', ['10.0.0.0/8'], 'one hi'],
  ];
  for (const [name, cidrs, want] of subnets) {
    test(`destinationSubnets: ${name}`, async () => {
      const p = await proxy({ tcp: [route([['v2', 100]], [{ destinationSubnets: cidrs }]), route([['v1', 100]])] });
      assert.equal(await capturedOnce(p), want);
      assert.equal(await connectOnce(p), want, 'a CONNECT by name is matched on the service address');
      p.close();
    });
  }
  test('a route to a subset no DestinationRule defines: closed, NR', async () => {
    const p = await proxy({ tcp: [route([['v9', 100]])] });
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'NR');
    assert.match(await connectOnce(p), /^HTTP\/1.1 503/);
    p.close();
  });
});

describe('tls routes by SNI, never terminated', () => {
  const tlsRoutes = [route([['v2', 100]], [{ sniHosts: ['v2.example.com'] }], 9443), route([['v1', 100]], [{ sniHosts: ['*.example.com'] }], 9443)];
  const cases: Array<[string, string]> = [
    ['v2.example.com', 'two'],
    ['V2.EXAMPLE.COM', 'two'],
    ['other.example.com', 'one'],
  ];
  for (const [sni, want] of cases) {
    test(`SNI ${sni} goes to ${want}, captured and through CONNECT`, async () => {
      const p = await proxy({ tls: tlsRoutes, tcp: [route([['v3', 100]], [], 9443)] });
      p.dialledPort = 9443;
      const before = (want === 'two' ? v2 : v1).firstBytes.length;
      assert.equal(await rawHello(p.capture, sni), want);
      const got = (want === 'two' ? v2 : v1).firstBytes[before];
      assert.ok(got !== undefined);
      const hello = parseClientHello(got);
      assert.equal(hello.kind === 'hello' ? hello.sni : undefined, sni.toLowerCase(), 'the ClientHello reached the server as the client sent it');
      assert.equal(await rawHello(p.outbound, sni, 'CONNECT tcp-echo:9443 HTTP/1.1\r\nhost: tcp-echo:9443\r\n\r\n'), want);
      p.close();
    });
  }
  test('no SNI match and plain bytes: the tcp routes of the port', async () => {
    const p = await proxy({ tls: tlsRoutes, tcp: [route([['v1', 100]], [], 9443)] });
    p.dialledPort = 9443;
    assert.equal(await rawHello(p.capture, 'elsewhere.org'), 'one');
    assert.equal(await capturedOnce(p, 'plain'), 'one plain');
    p.close();
  });
});

describe('DestinationRule tls mode toward a mesh service', () => {
  const tlsPolicy = (mode: 'DISABLE' | 'ISTIO_MUTUAL'): Partial<TrafficPolicyConfig> => ({
    tls: { mode, sni: null, subjectAltNames: [], caCertificates: null, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false },
  });
  test('DISABLE: plaintext to the app port, though the destination would take mTLS', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], mtls: true, policy: tlsPolicy('DISABLE') });
    assert.equal(await capturedOnce(p), 'one hi');
    p.close();
  });
  test("ISTIO_MUTUAL (the default): mTLS to the sidecar's inbound port, which this proxy without a certificate cannot open", async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], mtls: true, policy: tlsPolicy('ISTIO_MUTUAL') });
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'UF');
    p.close();
  });
});

describe('connectionPool.tcp limits on a tunnel', () => {
  const pool = (over: Partial<TrafficPolicyConfig['connectionPool']>): Partial<TrafficPolicyConfig> => ({ connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, ...over } });
  const closedAfterReply = (p: Proxy): Promise<void> =>
    captured(p).then(
      ({ reply, socket }) =>
        new Promise<void>((resolve) => {
          assert.equal(reply, 'one hi');
          socket.once('close', () => resolve());
        }),
    );
  test('idleTimeout: a silent tunnel is closed by the sidecar', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool({ tcpIdleTimeoutMs: 150 }) });
    await closedAfterReply(p);
    p.close();
  });
  test('maxConnectionDuration: a tunnel is closed when its time is up', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool({ maxConnectionDurationMs: 150 }) });
    await closedAfterReply(p);
    p.close();
  });
  test('tcpKeepalive: the sidecar turns keepalive on for its upstream socket (as the kernel reports it)', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool({ tcpKeepalive: { probes: 3, timeMs: 7_000, intervalMs: 1_000 } }) });
    const { socket } = await captured(p);
    // The echo server's accepted socket has the sidecar's upstream socket as its peer.
    const peerPort = [...v1.open].at(-1)!.remotePort!;
    const timers = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${peerPort} )`]).toString();
    assert.match(timers, /timer:\(keepalive/);
    socket.destroy();
    p.close();
  });
});

describe('PASSTHROUGH: where the app dialled', () => {
  const passthrough: Partial<TrafficPolicyConfig> = { loadBalancer: { policy: 'PASSTHROUGH' } };
  test('an endpoint dialled directly is the one connected, whatever the balancer would pick', async () => {
    const p = await proxy({ policy: passthrough });
    p.dialledAddress = V2;
    p.dialledPort = v2.port;
    for (let i = 0; i < 5; i++) assert.equal(await capturedOnce(p), 'two hi');
    p.dialledAddress = V1;
    p.dialledPort = v1.port;
    assert.equal(await capturedOnce(p), 'one hi');
    p.close();
  });
  test('the service address dialled: no endpoint is that address, so no healthy upstream (UH)', async () => {
    const p = await proxy({ policy: passthrough });
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'UH');
    p.close();
  });
});

describe('circuit breaking and outlier detection per connection', () => {
  const pool = (maxConnections: number, maxPendingRequests: number): Partial<TrafficPolicyConfig> => ({ connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, maxConnections, maxPendingRequests } });
  test('maxConnections 1 and no pending slot: a second connection is closed with UO; once the first closes, it works', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool(1, 0) });
    const first = await captured(p);
    assert.equal(first.reply, 'one hi');
    assert.equal(await capturedOnce(p), '');
    assert.equal(lastEntry(p)?.responseFlags, 'UO');
    assert.match(await connectOnce(p), /^HTTP\/1.1 503/);
    first.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await capturedOnce(p), 'one hi');
    p.close();
  });
  test('maxConnections 1 with one pending slot: the second waits and connects when the first closes', async () => {
    const p = await proxy({ tcp: [route([['v1', 100]])], policy: pool(1, 1) });
    const first = await captured(p);
    const second = captured(p, 'late');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(v1.open.size, 1, 'only one upstream connection while the second waits');
    assert.equal(await capturedOnce(p), '', 'a third finds the pending slot taken');
    first.socket.destroy();
    const s = await second;
    assert.equal(s.reply, 'one late');
    s.socket.destroy();
    p.close();
  });
  test('a refused connect is UF and counts for outlier detection: the dead host is ejected, the rest carry on', async () => {
    const outlierDetection = { ...OUTLIER };
    const p = await proxy({ all: [V1, DEAD], policy: { outlierDetection, loadBalancer: { policy: 'ROUND_ROBIN' } } });
    const replies: string[] = [];
    for (let i = 0; i < 6; i++) replies.push(await capturedOnce(p));
    assert.equal(replies.filter((r) => r === '').length, 1, 'one failure ejects the dead host');
    assert.ok(p.entries.some((e) => e.responseFlags === 'UF' && /upstream connect error/.test(e.reason ?? '')));
    assert.equal(p.rt.endpoints.endpoint(`outbound|9000||${HOST}`, DEAD)?.ejected, true);
    p.close();
  });
});

const OUTLIER = {
  consecutive5xx: 1,
  consecutiveGatewayErrors: 0,
  consecutiveLocalOriginFailures: 5,
  splitExternalLocalOriginErrors: false,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 100,
  minHealthPercent: 0,
};
