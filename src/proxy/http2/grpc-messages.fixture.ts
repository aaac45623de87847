/**
 * For gRPC tests: a gRPC app with one method of each kind (unary, client streaming, server streaming, bidi), behind
 * its sidecar's inbound listener on a PERMISSIVE grpc port, and a client sidecar's outbound listener and an ingress
 * gateway (h2c on its HTTP port, every call routed to the app's service) that reach it in plaintext h2c (a DISABLE
 * endpoint). Each proxy reports to its own ProxyMetrics and access-log list. Messages are raw bytes (no protobuf),
 * so a test says exactly what crosses.
 */
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { ProxyRuntime } from '../proxy-runtime.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import { createInboundListener } from '../inbound/index.js';
import { createOutboundListener } from '../outbound/index.js';
import { createGatewayListeners } from '../gateway/index.js';
import type { GatewayListeners } from '../gateway/index.js';
import { listenOnLoopback } from '../loopback.fixture.js';

export const MESSAGES_HOST = 'messages.default.svc.cluster.local';
export const MESSAGES_PORT = 50051;
export const MESSAGES_AUTHORITY = `${MESSAGES_HOST}:${MESSAGES_PORT}`;
/** The name the gateway's virtual host answers for. */
export const GATEWAY_AUTHORITY = 'messages.example.com';
const GATEWAY_PORT = 8080;
/** The gRPC client and server's own limits lifted, so a refusal can only come from a proxy. */
export const UNLIMITED = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const method = (name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/weft.test.Messages/${name}`,
  requestStream,
  responseStream,
  ...raw,
});
/**
 * Unary echoes; Upload answers how many messages it took (one byte); Download answers the number its one request's
 * first byte names, one byte each; Chat echoes each message as it comes and ends when the caller does.
 */
export const MESSAGES_SERVICE = {
  unary: method('Unary', false, false),
  upload: method('Upload', true, false),
  download: method('Download', false, true),
  chat: method('Chat', true, true),
} satisfies grpc.ServiceDefinition;

export type MessagesClient = grpc.Client & {
  unary(req: Buffer, cb: (err: grpc.ServiceError | null, reply?: Buffer) => void): grpc.ClientUnaryCall;
  upload(cb: (err: grpc.ServiceError | null, reply?: Buffer) => void): grpc.ClientWritableStream<Buffer>;
  download(req: Buffer): grpc.ClientReadableStream<Buffer>;
  chat(): grpc.ClientDuplexStream<Buffer, Buffer>;
};

export function messagesClient(port: number, authority = MESSAGES_AUTHORITY): MessagesClient {
  const Ctor = grpc.makeGenericClientConstructor(MESSAGES_SERVICE, 'Messages');
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { ...UNLIMITED, 'grpc.default_authority': authority }) as unknown as MessagesClient;
}

export interface SidecarUnderTest {
  rt: ProxyRuntime;
  metrics: ProxyMetrics;
  entries: AccessLogEntry[];
  /** Install this config (the fixture's, changed by `edit`). */
  configure(edit?: (c: ProxyConfig) => ProxyConfig): void;
}

export interface MessagesMesh {
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  gatewayPort: number;
  client: SidecarUnderTest;
  gateway: SidecarUnderTest;
  server: SidecarUnderTest;
  /** Sizes of every message the app received, in order. */
  received: number[];
  close(): Promise<void>;
}

const security: ProxyConfig['security'] = { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] };

function messagesService(inboundPort: number, appPort: number): ProxyConfig['outbound']['services'][number] {
  const endpoint = { address: '127.0.0.1', inboundPort, targetPort: appPort, spiffeId: 'spiffe://cluster.local/ns/default/sa/messages', mtls: false, workload: 'default/messages' };
  return { host: MESSAGES_HOST, namespace: 'default', aliases: ['messages'], addresses: [], ports: [{ port: MESSAGES_PORT, name: 'grpc', protocol: 'grpc', endpoints: [endpoint] }] };
}

function clientConfig(inboundPort: number, appPort: number): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'client',
    proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: { app: 'client' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: { services: [messagesService(inboundPort, appPort)], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security,
  };
}

function gatewayConfig(inboundPort: number, appPort: number): ProxyConfig {
  const route = { source: 'default/messages#0', name: '', match: [], destinations: [{ host: MESSAGES_HOST, port: MESSAGES_PORT, weight: 100 }], timeoutMs: 0 };
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'ingress',
    proxy: { role: 'gateway', namespace: 'istio-system', name: 'ingress', spiffeId: 'spiffe://cluster.local/ns/istio-system/sa/ingress', labels: { istio: 'ingressgateway' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: { services: [messagesService(inboundPort, appPort)], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: { servers: [{ port: GATEWAY_PORT, name: 'http', protocol: 'HTTP', virtualHosts: [{ gateway: 'istio-system/ingress', domains: [GATEWAY_AUTHORITY], routes: [route] }] }] },
    security,
  };
}

function serverConfig(appPort: number): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'server',
    proxy: { role: 'sidecar', namespace: 'default', name: 'messages', spiffeId: 'spiffe://cluster.local/ns/default/sa/messages', labels: { app: 'messages' } },
    trustDomain: 'cluster.local',
    inbound: {
      defaultMode: 'PERMISSIVE',
      ports: [{ port: appPort, name: 'grpc', protocol: 'grpc', mode: 'PERMISSIVE' }],
      servicePorts: [{ host: MESSAGES_HOST, port: MESSAGES_PORT, targetPort: appPort }],
    },
    outbound: { services: [], externals: [], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security,
  };
}

function sidecar(name: string, base: () => ProxyConfig): SidecarUnderTest {
  const entries: AccessLogEntry[] = [];
  const metrics = new ProxyMetrics(name, () => rt.config?.raw);
  const rt: ProxyRuntime = testRuntime({
    telemetry: {
      record: (e) => {
        entries.push(e);
        metrics.record(e);
      },
    },
  });
  let n = 0;
  const configure = (edit?: (c: ProxyConfig) => ProxyConfig): void => {
    const c = edit ? edit(base()) : base();
    installConfig(rt, acceptProxyConfig({ ...c, version: `${c.version}-${++n}` }));
  };
  return { rt, metrics, entries, configure };
}

function startApp(received: number[]): grpc.Server {
  const app = new grpc.Server(UNLIMITED);
  app.addService(MESSAGES_SERVICE, {
    unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      received.push(call.request.length);
      cb(null, call.request);
    },
    upload(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      let n = 0;
      call.on('data', (m: Buffer) => {
        received.push(m.length);
        n++;
      });
      call.on('end', () => cb(null, Buffer.from([n])));
    },
    download(call: grpc.ServerWritableStream<Buffer, Buffer>) {
      received.push(call.request.length);
      for (let i = 0; i < (call.request[0] ?? 0); i++) call.write(Buffer.from([i]));
      call.end();
    },
    chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      call.on('data', (m: Buffer) => {
        received.push(m.length);
        call.write(m);
      });
      call.on('end', () => call.end());
    },
  });
  return app;
}

export async function startMessagesMesh(): Promise<MessagesMesh> {
  const received: number[] = [];
  const app = startApp(received);
  const sockets = new Set<net.Socket>();
  const servers: net.Server[] = [];
  let appPort = 0;
  let inboundPort = 0;
  const server = sidecar('default/messages', () => serverConfig(appPort));
  const client = sidecar('default/client', () => clientConfig(inboundPort, appPort));
  const gateway = sidecar('istio-system/ingress', () => gatewayConfig(inboundPort, appPort));
  let gatewayListeners: GatewayListeners | undefined;
  const close = async (): Promise<void> => {
    await gatewayListeners?.close();
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    app.forceShutdown();
    await client.rt.pools.close();
    await server.rt.pools.close();
    await gateway.rt.pools.close();
  };
  try {
    appPort = await new Promise<number>((resolve, reject) => app.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    // Every connection claims to have been dialled at the app port, as iptables REDIRECT leaves it.
    const inbound = createInboundListener(server.rt, () => appPort).server;
    const outbound = createOutboundListener(client.rt);
    for (const s of [inbound, outbound]) {
      servers.push(s);
      s.on('connection', (c: net.Socket) => sockets.add(c));
    }
    inboundPort = await listenOnLoopback(inbound);
    const outboundPort = await listenOnLoopback(outbound);
    server.configure();
    client.configure();
    gateway.configure();
    gatewayListeners = createGatewayListeners(gateway.rt, '127.0.0.1', new Map([[GATEWAY_PORT, 0]]));
    await gatewayListeners.reconcile(gateway.rt.config!);
    const gatewayPort = Number(gatewayListeners.addresses()[String(GATEWAY_PORT)]!.split(':')[1]);
    return { appPort, inboundPort, outboundPort, gatewayPort, client, gateway, server, received, close };
  } catch (err) {
    await close();
    throw err;
  }
}
