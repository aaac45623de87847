/**
 * The ingress gateway accepting h2c: a real gRPC client reaches three gRPC servers through a Gateway server port,
 * each call admitted and routed per stream (balanced, and answered in gRPC terms when no virtual host matches).
 * HTTP/1.1 on the same port still works.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { createGatewayListeners } from './index.js';
import type { GatewayListeners } from './index.js';
import { echoService, startEchoServer } from '../../../examples/grpc-echo/echo-server.js';
import type { EchoReply, EchoRequest, EchoServer } from '../../../examples/grpc-echo/echo-server.js';

const HOST = 'echo.default.svc.cluster.local';
const PODS = ['127.0.0.5', '127.0.0.6', '127.0.0.7'];
const GATEWAY_PORT = 8080;

function config(servers: EchoServer[]): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'ingress',
    proxy: { role: 'gateway', namespace: 'istio-system', name: 'ingress', spiffeId: 'spiffe://cluster.local/ns/istio-system/sa/ingress', labels: { istio: 'ingressgateway' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        {
          host: HOST,
          namespace: 'default',
          aliases: [],
          addresses: [],
          ports: [
            {
              port: 50051,
              name: 'grpc',
              protocol: 'grpc',
              endpoints: servers.map((s, i) => ({ address: PODS[i]!, inboundPort: s.port, targetPort: 50051, spiffeId: 'spiffe://cluster.local/ns/default/sa/echo', mtls: false, workload: `default/echo-${i + 1}` })),
              clusters: [{ name: `outbound|50051||${HOST}`, host: HOST, port: 50051, subset: null, labels: {}, destinationRules: ['default/echo'], policy: { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'ROUND_ROBIN' } } as never, endpoints: PODS }],
            },
          ],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: {
      servers: [
        {
          port: GATEWAY_PORT,
          name: 'http',
          protocol: 'HTTP',
          virtualHosts: [{ gateway: 'istio-system/ingress', domains: ['echo.example.com'], routes: [{ source: 'default/echo#0', name: '', match: [], destinations: [{ host: HOST, port: 50051, weight: 100 }], timeoutMs: 0 }] }],
        },
      ],
    },
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

interface EchoClient extends grpc.Client {
  say(req: EchoRequest, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
}

describe('ingress gateway: h2c per stream through the same request path', () => {
  const servers: EchoServer[] = [];
  const log: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => log.push(e) } });
  let listeners: GatewayListeners | undefined;
  let port = 0;
  const client = (authority: string): EchoClient => {
    const Echo = echoService();
    return new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority }) as unknown as EchoClient;
  };
  const say = (c: EchoClient, message: string): Promise<{ err: grpc.ServiceError | null; reply?: EchoReply }> => new Promise((r) => c.say({ message }, (err, reply) => r({ err, reply })));

  before(async () => {
    for (const [i, a] of PODS.entries()) servers.push(await startEchoServer(`echo-${i + 1}`, a));
    installConfig(rt, acceptProxyConfig(config(servers)));
    listeners = createGatewayListeners(rt, '127.0.0.1', new Map([[GATEWAY_PORT, 0]]));
    await listeners.reconcile(rt.config!);
    port = Number(listeners.addresses()[String(GATEWAY_PORT)]!.split(':')[1]);
  });
  after(async () => {
    await listeners?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('calls on one connection are balanced per call over the three pods', async () => {
    const c = client('echo.example.com');
    const pods = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const { err, reply } = await say(c, `g${i}`);
      assert.equal(err, null);
      pods.set(reply!.pod, (pods.get(reply!.pod) ?? 0) + 1);
    }
    c.close();
    assert.deepEqual([...pods.values()], [10, 10, 10]);
    const last = log.at(-1)!;
    assert.deepEqual([last.direction, last.protocol, last.grpcStatus], ['gateway', 'grpc', 0]);
  });

  test('an authority no virtual host serves: UNIMPLEMENTED (404 NR) in gRPC terms', async () => {
    const c = client('other.example.com');
    const { err } = await say(c, 'x');
    c.close();
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
    assert.equal(log.at(-1)!.responseFlags, 'NR');
  });

  test('HTTP/1.1 on the same port is still served', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'nowhere.example.com' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(status, 404);
  });
});
