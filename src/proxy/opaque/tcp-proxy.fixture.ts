/**
 * Test fixture for opaque connections through a sidecar: plaintext (DISABLE) echo servers standing for tcp-echo v1
 * and v2 on loopback addresses, a proxy with a capture listener and an outbound listener over a config of one tcp
 * and one tls port, and clients that connect captured, through CONNECT, or with a real ClientHello.
 */
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
import { testRuntime } from '../proxy-runtime.fixture.js';
import { readProxyHeaders } from '../../../test/support/proxy-protocol-server.js';
import type { ParsedProxyHeader } from '../../../test/support/proxy-protocol-server.js';

export const HOST = 'tcp-echo.default.svc.cluster.local';
export const VIP = '198.19.0.20';
export const V1 = '127.0.0.2';
export const V2 = '127.0.0.3';
/** Nothing listens on this one's port: connects are refused. */
export const DEAD = '127.0.0.4';

/**
 * An echo server that prefixes each chunk with its name; remembers the first bytes of each connection, and the PROXY
 * protocol header it started with (null: none), read strictly and taken off before the echo.
 */
export class Echo {
  readonly server: net.Server;
  readonly firstBytes: Buffer[] = [];
  readonly headers: Array<ParsedProxyHeader | null> = [];
  readonly headerErrors: Error[];
  readonly open = new Set<net.Socket>();
  port = 0;
  constructor(
    readonly name: string,
    readonly address: string,
  ) {
    const reader = readProxyHeaders(({ header, socket: s }) => {
      this.headers.push(header);
      this.open.add(s);
      s.on('close', () => this.open.delete(s));
      s.on('error', () => undefined);
      s.once('data', (d: Buffer) => this.firstBytes.push(d));
      s.on('data', (d: Buffer) => s.write(`${name} ${d.toString('latin1')}`));
    });
    this.server = reader.server;
    this.headerErrors = reader.errors;
  }
  async listen(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, this.address, r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
}

export const v1 = new Echo('one', V1);
export const v2 = new Echo('two', V2);
let deadPort = 0;

/** With `mtls`, the sidecar's inbound port is one nothing listens on: only plaintext to the app port reaches the echo. */
const endpoint = (address: string, port: number, version: string, mtls = false) => ({ address, inboundPort: mtls ? deadPort : port, targetPort: port, spiffeId: `spiffe://example.org/ns/default/sa/${version}`, mtls, workload: `default/tcp-echo-${version}` });

function cluster(subset: string | null, endpoints: string[], policy: Partial<TrafficPolicyConfig> = {}, port = 9000): ClusterConfig & { endpoints: string[] } {
  const labels: Record<string, string> = subset === null ? {} : { version: subset };
  return { name: `outbound|${port}|${subset ?? ''}|${HOST}`, host: HOST, port, subset, labels, destinationRules: ['default/tcp-echo'], policy: { ...DEFAULT_TRAFFIC_POLICY, ...policy }, endpoints };
}

export interface Traffic {
  tcp?: L4Route[];
  tls?: L4Route[];
  policy?: Partial<TrafficPolicyConfig>;
  /** A subset's own policy over `policy` (the control plane's merge already made). */
  subsets?: Record<string, Partial<TrafficPolicyConfig>>;
  /** Endpoints of the whole service (default: v1 and v2). */
  all?: string[];
  /** The destinations' PeerAuthentication asks for mTLS (auto mTLS). */
  mtls?: boolean;
  /** The v1 endpoint's app port, when something other than the v1 echo listens there (a tunnel proxy). */
  v1Port?: number;
}

function config(t: Traffic): ProxyConfig {
  const eps = [endpoint(V1, t.v1Port ?? v1.port, 'v1', t.mtls), endpoint(V2, v2.port, 'v2', t.mtls), endpoint(DEAD, deadPort, 'v3')];
  const port = (n: number, name: string, protocol: 'tcp' | 'tls'): OutboundPort => ({
    port: n,
    name,
    protocol,
    endpoints: eps,
    ...(t.tcp && { tcp: t.tcp }),
    ...(t.tls && { tls: t.tls }),
    clusters: [
      cluster(null, t.all ?? [V1, V2], t.policy, n),
      ...(['v1', 'v2', 'v3'] as const).map((v, i) => cluster(v, [[V1, V2, DEAD][i]!], { ...t.policy, ...t.subsets?.[v] }, n)),
    ],
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

export const route = (destinations: Array<[string | undefined, number]>, match: L4Route['match'] = [], port = 9000): L4Route => ({
  source: 'default/tcp-echo#0',
  match,
  destinations: destinations.map(([subset, weight]) => ({ host: HOST, port, weight, ...(subset !== undefined && { subset }) })),
});

export interface Proxy {
  rt: ProxyRuntime;
  entries: AccessLogEntry[];
  capture: number;
  outbound: number;
  dialledPort: number;
  dialledAddress: string;
  close(): void;
}

export async function proxy(t: Traffic, random: () => number = Math.random): Promise<Proxy> {
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
export function captured(p: Proxy, line = 'hi'): Promise<{ reply: string; socket: net.Socket }> {
  return new Promise((resolve) => {
    const s = net.connect(p.capture, '127.0.0.1', () => s.write(line));
    s.on('error', () => undefined);
    s.once('data', (d: Buffer) => resolve({ reply: d.toString('latin1'), socket: s }));
    s.once('close', () => resolve({ reply: '', socket: s }));
  });
}

export async function capturedOnce(p: Proxy, line = 'hi'): Promise<string> {
  const { reply, socket } = await captured(p, line);
  socket.destroy();
  return reply;
}

/** Send a real ClientHello over a plain socket, so the answer can be read without a TLS client in the way. */
export async function rawHello(port: number, servername: string, preamble?: string): Promise<string> {
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
export function connectOnce(p: Proxy, target = 'tcp-echo:9000', line = 'hi'): Promise<string> {
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

export const lastEntry = (p: Proxy): AccessLogEntry | undefined => p.entries.at(-1);

/** Start the echo servers (and find a port nothing listens on); call in `before`. */
export async function startEchoes(): Promise<void> {
  await Promise.all([v1.listen(), v2.listen()]);
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, DEAD, r));
  deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise((r) => dead.close(r));
}

export function stopEchoes(): void {
  v1.server.close();
  v2.server.close();
}
