/**
 * gRPC messages past the size limit at the client sidecar, with a real gRPC client and server that would both take
 * them (their own limits lifted), so RESOURCE_EXHAUSTED can only come from the proxy: a request message over 4 MiB
 * is answered trailers-only with grpc-status 8 and never reaches the server; a reply over it ends the call with
 * grpc-status 8; a lying length prefix is refused as soon as the prefix is read; the limit follows config.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { createOutboundListener } from '../outbound/index.js';
import { installConfig } from '../proxy-runtime.js';
import { testRuntime } from '../proxy-runtime.fixture.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import { echoService } from '../../../examples/grpc-echo/echo-server.js';
import type { EchoReply, EchoRequest } from '../../../examples/grpc-echo/echo-server.js';

const HOST = 'echo.default.svc.cluster.local';
const PORT = 50051;
const MiB = 1024 * 1024;
const UNLIMITED = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

function config(version: string, appPort: number, grpcMaxMessageBytes?: number): ProxyConfig {
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
          ports: [{ port: PORT, name: 'grpc', protocol: 'grpc', endpoints: [{ address: '127.0.0.1', inboundPort: appPort, targetPort: PORT, spiffeId: 'spiffe://cluster.local/ns/default/sa/echo', mtls: false, workload: 'default/echo-1' }] }],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'istio-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [], ...(grpcMaxMessageBytes !== undefined && { grpcMaxMessageBytes }) },
  };
}

interface EchoClient extends grpc.Client {
  say(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
}

describe('gRPC message size limit at the client sidecar', () => {
  const log: AccessLogEntry[] = [];
  const rt = testRuntime({ telemetry: { record: (e) => log.push(e) } });
  const listener = createOutboundListener(rt);
  /** The sizes of the requests the server received. */
  const received: number[] = [];
  const server = new grpc.Server(UNLIMITED);
  let appPort = 0;
  let proxyPort = 0;
  let client: EchoClient;

  const say = (message: string): Promise<{ err: grpc.ServiceError | null; reply?: EchoReply }> =>
    new Promise((resolve) => client.say({ message }, new grpc.Metadata(), {}, (err, reply) => resolve({ err, reply })));

  before(async () => {
    server.addService(echoService().service, {
      say(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) {
        const m = call.request.message;
        received.push(m.length);
        // `big:<n>` answers a reply of n bytes.
        cb(null, { message: m.startsWith('big:') ? 'x'.repeat(Number(m.slice(4))) : m, pod: 'echo-1', seq: 0 });
      },
    });
    appPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    installConfig(rt, acceptProxyConfig(config('v1', appPort)));
    proxyPort = await new Promise<number>((r) => listener.listen(0, '127.0.0.1', () => r((listener.address() as net.AddressInfo).port)));
    const Echo = echoService();
    client = new Echo(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure(), { ...UNLIMITED, 'grpc.default_authority': `${HOST}:${PORT}` }) as unknown as EchoClient;
  });
  after(async () => {
    client.close();
    listener.close();
    server.forceShutdown();
  });

  test('a 3 MiB request and a 3 MiB reply pass (within gRPC\'s default 4 MiB)', async () => {
    const { err, reply } = await say('y'.repeat(3 * MiB));
    assert.equal(err, null);
    assert.equal(reply!.message.length, 3 * MiB);
    const big = await say(`big:${3 * MiB}`);
    assert.equal(big.err, null);
    assert.equal(big.reply!.message.length, 3 * MiB);
  });

  test('a 5 MiB request message is refused with RESOURCE_EXHAUSTED and never reaches the server', async () => {
    const before = received.length;
    const { err } = await say('z'.repeat(5 * MiB));
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(err!.details, /request message larger than max \(\d+ vs\. 4194304\)/);
    assert.equal(received.length, before, 'the server saw no call');
    const entry = log.at(-1)!;
    assert.deepEqual([entry.protocol, entry.grpcStatus, entry.status, entry.reason], ['grpc', 8, 200, 'request payload too large']);
    // The connection serves the next call.
    assert.equal((await say('after')).reply?.message, 'after');
  });

  test('a 5 MiB reply ends the call with RESOURCE_EXHAUSTED', async () => {
    const { err } = await say(`big:${5 * MiB}`);
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(err!.details, /response message larger than max/);
    const entry = log.at(-1)!;
    assert.deepEqual([entry.grpcStatus, entry.reason], [8, 'response payload too large']);
    assert.equal((await say('still here')).reply?.message, 'still here');
  });

  test('a lying length prefix (4 GiB claimed, 3 bytes sent, stream left open) is refused at once; the upstream stream is reset', async () => {
    // A raw HTTP/2 upstream, to see exactly what reached it.
    const upstream = http2.createServer();
    upstream.on('session', (session) => sessions.push(session));
    const sessions: http2.ServerHttp2Session[] = [];
    const seen: { bytes: number; rstCode: number | undefined }[] = [];
    const upstreamClosed = new Promise<void>((resolve) => {
      upstream.on('stream', (s) => {
        const rec = { bytes: 0, rstCode: undefined as number | undefined };
        seen.push(rec);
        s.on('data', (c: Buffer) => (rec.bytes += c.length));
        s.on('error', () => undefined);
        s.once('close', () => {
          rec.rstCode = s.rstCode;
          resolve();
        });
      });
    });
    const port = await new Promise<number>((r) => upstream.listen(0, '127.0.0.1', () => r((upstream.address() as net.AddressInfo).port)));
    installConfig(rt, acceptProxyConfig(config('raw', port)));
    const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/weft.echo.Echo/Say', ':authority': `${HOST}:${PORT}`, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      const answer = new Promise<http2.IncomingHttpHeaders>((resolve) => req.once('response', (h) => resolve(h)));
      req.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      const h = await answer;
      assert.deepEqual([h[':status'], h['grpc-status'], h['content-type']], [200, '8', 'application/grpc']);
      await upstreamClosed;
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.bytes, 0, 'no byte of the refused message reached the upstream');
      assert.equal(seen[0]!.rstCode, http2.constants.NGHTTP2_CANCEL);
      req.close();
    } finally {
      session.close();
      upstream.close();
      // The proxy keeps its pooled session open while idle; this server's side of it is let go here.
      for (const s of sessions) s.destroy();
      installConfig(rt, acceptProxyConfig(config('v1', appPort)));
    }
  });

  test('the limit is the config\'s grpcMaxMessageBytes (MeshConfig)', async () => {
    installConfig(rt, acceptProxyConfig(config('small', appPort, 1024)));
    try {
      assert.equal((await say('a'.repeat(1000))).err, null);
      const { err } = await say('a'.repeat(2000));
      assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(err!.details, /vs\. 1024\)/);
    } finally {
      installConfig(rt, acceptProxyConfig(config('v1', appPort)));
    }
  });
});
