/**
 * gRPC through the client sidecar's outbound listener with a real gRPC client and three real gRPC servers: each
 * call on one client connection is one request through the chain, balanced per call, retried, timed out and
 * answered in gRPC terms when the proxy answers itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../../proxyconfig/default-traffic-policy.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundListener } from '../outbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { echoService, startEchoServer } from '../../../examples/grpc-echo/echo-server.js';
import type { EchoReply, EchoRequest, EchoServer } from '../../../examples/grpc-echo/echo-server.js';

const HOST = 'echo.default.svc.cluster.local';
const PORT = 50051;
const PODS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];

type Policy = Record<string, unknown>;

function config(version: string, servers: EchoServer[], routes?: HttpRoute[], policy?: Policy): ProxyConfig {
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version,
    proxy: { role: 'sidecar', namespace: 'default', name: 'client', spiffeId: 'spiffe://cluster.local/ns/default/sa/client', labels: {} },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: {
      services: [
        {
          host: HOST,
          namespace: 'default',
          aliases: ['echo'],
          addresses: [],
          ports: [
            {
              port: PORT,
              name: 'grpc',
              protocol: 'grpc',
              endpoints: servers.map((s, i) => ({ address: PODS[i]!, inboundPort: s.port, targetPort: PORT, spiffeId: 'spiffe://cluster.local/ns/default/sa/echo', mtls: false, workload: `default/echo-${i + 1}` })),
              ...(routes && { http: routes }),
              ...(policy && {
                clusters: [{ name: `outbound|${PORT}||${HOST}`, host: HOST, port: PORT, subset: null, labels: {}, destinationRules: ['default/echo'], policy: { ...DEFAULT_TRAFFIC_POLICY, ...policy } as never, endpoints: PODS }],
              }),
            },
          ],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

const route = (over: Partial<HttpRoute>): HttpRoute => ({ source: 'default/echo#0', name: '', match: [], destinations: [{ host: HOST, port: PORT, weight: 100 }], timeoutMs: 0, ...over });
const RETRY = { attempts: 2, perTryTimeoutMs: 0, retryOn: ['unavailable'], retriableStatusCodes: [], retryRemoteLocalities: false, retryIgnorePreviousHosts: true, backoffMs: 0 };

interface EchoClient extends grpc.Client {
  say(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
  count(req: EchoRequest): grpc.ClientReadableStream<EchoReply>;
}

describe('gRPC through the outbound listener (h2c, one Exchange per stream)', () => {
  const servers: EchoServer[] = [];
  const log: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => log.push(e) } });
  const listener = createOutboundListener(rt);
  let client: EchoClient;
  let proxyPort = 0;

  const apply = (version: string, routes?: HttpRoute[], policy?: Policy): void => {
    installConfig(rt, acceptProxyConfig(config(version, servers, routes, policy)));
  };
  const say = (message: string, md = new grpc.Metadata(), opts: grpc.CallOptions = {}): Promise<{ err: grpc.ServiceError | null; reply?: EchoReply }> =>
    new Promise((resolve) => client.say({ message }, md, opts, (err, reply) => resolve({ err, reply })));

  before(async () => {
    for (const [i, address] of PODS.entries()) servers.push(await startEchoServer(`echo-${i + 1}`, address));
    apply('v1');
    proxyPort = await new Promise<number>((r) => listener.listen(0, '127.0.0.1', () => r((listener.address() as net.AddressInfo).port)));
    const Echo = echoService();
    client = new Echo(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': `${HOST}:${PORT}` }) as unknown as EchoClient;
  });
  after(async () => {
    client.close();
    listener.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  test('300 unary calls on one connection spread over the three pods (round robin)', async () => {
    apply('rr', undefined, { loadBalancer: { policy: 'ROUND_ROBIN' } });
    const byPod = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const { err, reply } = await say(`call ${i}`);
      assert.equal(err, null);
      byPod.set(reply!.pod, (byPod.get(reply!.pod) ?? 0) + 1);
    }
    assert.deepEqual([...byPod.keys()].sort(), ['echo-1', 'echo-2', 'echo-3']);
    for (const n of byPod.values()) assert.ok(n >= 90 && n <= 110, `round robin within tolerance: ${[...byPod.values()].join(', ')}`);
    const last = log.at(-1)!;
    assert.deepEqual([last.protocol, last.grpcStatus, last.status, last.destinationService], ['grpc', 0, 200, HOST]);
  });

  test('least request (Istio\'s default) spreads them too', async () => {
    apply('lr');
    const pods = new Set<string>();
    for (let i = 0; i < 60; i++) pods.add((await say(`lr ${i}`)).reply!.pod);
    assert.equal(pods.size, 3);
  });

  test('consistent hash on a header pins each value to one pod', async () => {
    apply('hash', undefined, { loadBalancer: { policy: 'RING_HASH', hashKey: { header: 'x-user' }, minimumRingSize: 1024 } });
    for (const user of ['ana', 'bo', 'cy']) {
      const pods = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const md = new grpc.Metadata();
        md.set('x-user', user);
        pods.add((await say(`hash ${user}`, md)).reply!.pod);
      }
      assert.equal(pods.size, 1, `${user} went to ${[...pods].join(', ')}`);
    }
  });

  test('UNAVAILABLE is retried (retryOn unavailable) and the retry is counted at the upstream', async () => {
    apply('retry', [route({ retries: RETRY })], { loadBalancer: { policy: 'ROUND_ROBIN' } });
    const { err, reply } = await say('unavailable-once:r1');
    assert.equal(err, null);
    assert.equal(reply!.message, 'unavailable-once:r1');
    const seen = servers.flatMap((s) => s.calls).filter((c) => c === 'Say unavailable-once:r1');
    assert.equal(seen.length, 2);
    assert.equal(log.at(-1)!.attempts, 2);
    // The retry replayed the one request message: it is counted once, as the client sent it.
    assert.deepEqual([log.at(-1)!.grpcRequestMessages, log.at(-1)!.grpcResponseMessages], [1, 1]);
  });

  test('retries run out: the last UNAVAILABLE stands, flagged URX', async () => {
    apply('retry-out', [route({ retries: RETRY })]);
    const { err } = await say('unavailable');
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
    assert.match(err!.details, /is unavailable/);
    assert.equal(log.at(-1)!.responseFlags, 'URX');
  });

  test('a route timeout answers DEADLINE_EXCEEDED (trailers-only, UT)', async () => {
    apply('timeout', [route({ timeoutMs: 150 })]);
    const { err } = await say('sleep:30000');
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.deepEqual([log.at(-1)!.responseFlags, log.at(-1)!.grpcStatus], ['UT', 4]);
  });

  test("the client's grpc-timeout bounds the call at the proxy", async () => {
    apply('deadline');
    // A raw HTTP/2 client with no deadline of its own: the DEADLINE_EXCEEDED can only come from the proxy.
    const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    const stream = session.request({ ':method': 'POST', ':path': '/weft.echo.Echo/Say', ':authority': `${HOST}:${PORT}`, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '100m' });
    stream.end(grpcFrame('sleep:30000'));
    const headers = await new Promise<http2.IncomingHttpHeaders>((r) => stream.once('response', r));
    session.close();
    assert.deepEqual([headers[':status'], headers['grpc-status']], [200, '4']);
    assert.equal(log.at(-1)!.responseFlags, 'UT');
  });

  test('a caller deadline (grpc-js) gives DEADLINE_EXCEEDED and cancels the upstream call', async () => {
    apply('deadline-2');
    const { err } = await say('sleep:29999', new grpc.Metadata(), { deadline: Date.now() + 200 });
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
    // The caller's RST_STREAM (or the proxy's own deadline) reaches the server as a cancellation.
    while (!servers.some((s) => s.calls.includes('cancelled sleep:29999'))) await new Promise((r) => setTimeout(r, 10));
  });

  test('outlier detection counts UNAVAILABLE as a 5xx: the bad replica is ejected after 3 in a row', async () => {
    const outlierDetection = { consecutive5xx: 3, consecutiveGatewayErrors: 0, consecutiveLocalOriginFailures: 5, splitExternalLocalOriginErrors: false, intervalMs: 10_000, baseEjectionTimeMs: 60_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, minHealthPercent: 0 };
    apply('outlier', undefined, { loadBalancer: { policy: 'ROUND_ROBIN' }, outlierDetection });
    // A success on each host first: consecutive-error streaks are host state and outlive earlier tests' pushes.
    for (let i = 0; i < 3; i++) assert.equal((await say('reset streaks')).err, null);
    const before = servers[1]!.calls.length;
    for (let i = 0; i < 30; i++) {
      // Istio's default retry policy retries UNAVAILABLE on another host: every call succeeds.
      const { err } = await say('unavailable-on:echo-2');
      assert.equal(err, null);
    }
    assert.equal(servers[1]!.calls.length - before, 3);
  });

  const localReplies: Array<{ name: string; routes?: HttpRoute[]; policy?: Policy; code: grpc.status; flag: string; metadata?: string }> = [
    { name: 'no route matched: 404 → UNIMPLEMENTED, NR', routes: [route({ match: [{ uri: { prefix: '/other' } }] })], code: grpc.status.UNIMPLEMENTED, flag: 'NR' },
    { name: 'no healthy upstream (undefined subset): 503 → UNAVAILABLE, NR', routes: [route({ destinations: [{ host: HOST, port: PORT, weight: 100, subset: 'v9' }] })], code: grpc.status.UNAVAILABLE, flag: 'NR' },
    { name: 'fault abort with grpcStatus: that status, FI', routes: [route({ fault: { abort: { grpcStatus: 8, percent: 100 } } })], code: grpc.status.RESOURCE_EXHAUSTED, flag: 'FI' },
    { name: 'fault abort with httpStatus 403: PERMISSION_DENIED, FI', routes: [route({ fault: { abort: { httpStatus: 403, percent: 100 } } })], code: grpc.status.PERMISSION_DENIED, flag: 'FI' },
    {
      name: 'circuit open: 503 → UNAVAILABLE with x-envoy-overloaded, UO',
      policy: { connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, maxRequests: 0 } },
      code: grpc.status.UNAVAILABLE,
      flag: 'UO',
      metadata: 'x-envoy-overloaded',
    },
  ];
  for (const row of localReplies) {
    test(`local reply in gRPC terms: ${row.name}`, async () => {
      apply(`local-${row.flag}`, row.routes, row.policy);
      const { err } = await say('hello');
      assert.equal(err?.code, row.code, err?.details);
      assert.equal(log.at(-1)!.responseFlags, row.flag);
      if (row.metadata !== undefined) assert.deepEqual(err!.metadata.get(row.metadata), ['true']);
    });
  }

  test('a server-streaming call keeps going through a config push', async () => {
    apply('stream-1');
    const call = client.count({ message: 'tick', count: 20, intervalMs: 20 });
    const got: number[] = [];
    let pushed = false;
    await new Promise<void>((resolve, reject) => {
      call.on('data', (r: EchoReply) => {
        got.push(r.seq);
        if (got.length === 5 && !pushed) {
          pushed = true;
          apply('stream-2', [route({ timeoutMs: 0 })], { loadBalancer: { policy: 'RANDOM' } });
        }
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    assert.ok(pushed);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
  });
});

/** One gRPC message frame holding an EchoRequest with only `message` (protobuf field 1, length-delimited). */
function grpcFrame(message: string): Buffer {
  const body = Buffer.from(message);
  const msg = Buffer.concat([Buffer.from([0x0a, body.length]), body]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  return Buffer.concat([prefix, msg]);
}
