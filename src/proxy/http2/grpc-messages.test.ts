/**
 * Istio's gRPC message counts (istio_request_messages_total, istio_response_messages_total) at both reporters: a real
 * gRPC client calls a real gRPC server through the client sidecar's outbound listener (or the ingress gateway) and
 * the server sidecar's inbound listener. Each case says how many messages each side sent; both sidecars must report exactly that, with
 * istio_requests_total's labels. A non-gRPC HTTP/2 request counts no message (Envoy's gRPC stats filter sees only
 * gRPC), however its body looks; a message split over DATA frames of one byte counts once; a Telemetry override
 * disables one metric and rewrites the other's tags.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { parsePromText } from '../../../test/support/prom-text.js';
import type { Sample } from '../../../test/support/prom-text.js';
import type { TelemetryPolicy } from '../../proxyconfig/telemetry-policy-types.js';
import type { ProxyMetrics } from '../telemetry/proxy-metrics.js';
import { GATEWAY_AUTHORITY, MESSAGES_AUTHORITY, messagesClient, startMessagesMesh } from './grpc-messages.fixture.js';
import type { MessagesClient, MessagesMesh, SidecarUnderTest } from './grpc-messages.fixture.js';
import { FLAG, FRAME, RawH2, frame, literal } from './raw-h2.fixture.js';

let mesh: MessagesMesh;
let client: MessagesClient;
/** The same calls through the ingress gateway, which reports as the source. */
let viaGateway: MessagesClient;
before(async () => {
  mesh = await startMessagesMesh();
  client = messagesClient(mesh.outboundPort);
  viaGateway = messagesClient(mesh.gatewayPort, GATEWAY_AUTHORITY);
});
after(async () => {
  client.close();
  viaGateway.close();
  await mesh.close();
});

/** One gRPC message: the 5-byte prefix and its payload. */
function grpcFrame(payload: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(payload.length, 1);
  return Buffer.concat([prefix, payload]);
}

const unary = (payload: Buffer): Promise<Buffer> => new Promise((resolve, reject) => client.unary(payload, (err, reply) => (err ? reject(err) : resolve(reply!))));

function upload(messages: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const call = client.upload((err, reply) => (err ? reject(err) : resolve(reply!)));
    for (const m of messages) call.write(m);
    call.end();
  });
}

function collect(call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    call.on('data', (m: Buffer) => got.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
}

async function chat(messages: Buffer[]): Promise<Buffer[]> {
  const call = client.chat();
  const replies = collect(call);
  for (const m of messages) call.write(m);
  call.end();
  return replies;
}

/** A POST through `port` on a node HTTP/2 session; resolves when the stream closes. */
function h2Post(port: number, path: string, contentType: string, body: Buffer): Promise<http2.IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, ':authority': MESSAGES_AUTHORITY, 'content-type': contentType, te: 'trailers' });
    let headers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.on('error', reject);
    req.resume();
    req.on('close', () => {
      session.close();
      resolve(headers);
    });
    req.end(body);
  });
}

/** A gRPC call written by hand, every byte of its body in a DATA frame of its own, the last one ending the stream. */
async function bytewise(port: number, path: string, body: Buffer): Promise<void> {
  const raw = new RawH2(port);
  const block = Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    literal(':path', path),
    literal(':authority', MESSAGES_AUTHORITY),
    literal('content-type', 'application/grpc'),
    literal('te', 'trailers'),
  ]);
  await raw.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, block));
  for (let i = 0; i < body.length; i++) await raw.write(frame(FRAME.DATA, i === body.length - 1 ? FLAG.END_STREAM : 0, 1, body.subarray(i, i + 1)));
  await waitFor(() => raw.frames.some((f) => f.streamId === 1 && (f.flags & FLAG.END_STREAM) !== 0));
  raw.close();
}

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i > 500) throw new Error('the exchange never completed');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function samples(metrics: ProxyMetrics, name: string): Promise<Sample[]> {
  return parsePromText(await metrics.registry.metrics()).filter((s) => s.name === name);
}

interface Counts {
  requests: number;
  requestMessages: number;
  responseMessages: number;
}

async function counts(side: SidecarUnderTest, reporter: 'source' | 'destination'): Promise<Counts> {
  const sum = async (name: string): Promise<number> => (await samples(side.metrics, name)).filter((s) => s.labels['reporter'] === reporter).reduce((n, s) => n + s.value, 0);
  return { requests: await sum('istio_requests_total'), requestMessages: await sum('istio_request_messages_total'), responseMessages: await sum('istio_response_messages_total') };
}

interface Case {
  name: string;
  /** Makes the call; `via`: whether it crosses the client sidecar (else it is dialled at the server sidecar). */
  call: (m: MessagesMesh) => Promise<unknown>;
  via: 'both' | 'destination' | 'gateway';
  requestMessages: number;
  responseMessages: number;
}

const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);
const SPLIT = Buffer.concat([grpcFrame(bytes(0)), grpcFrame(bytes(3)), grpcFrame(bytes(300))]);

const CASES: Case[] = [
  { name: 'unary: one message each way', via: 'both', requestMessages: 1, responseMessages: 1, call: async () => assert.equal((await unary(bytes(10))).length, 10) },
  { name: 'unary with an empty message', via: 'both', requestMessages: 1, responseMessages: 1, call: async () => assert.equal((await unary(bytes(0))).length, 0) },
  { name: 'client streaming, 5 messages', via: 'both', requestMessages: 5, responseMessages: 1, call: async () => assert.deepEqual([...(await upload([1, 2, 3, 4, 5].map((n) => bytes(n))))], [5]) },
  { name: 'client streaming, no message', via: 'both', requestMessages: 0, responseMessages: 1, call: async () => assert.deepEqual([...(await upload([]))], [0]) },
  { name: 'server streaming, 7 replies', via: 'both', requestMessages: 1, responseMessages: 7, call: async () => assert.equal((await collect(client.download(Buffer.from([7])))).length, 7) },
  { name: 'bidi, 4 messages each way', via: 'both', requestMessages: 4, responseMessages: 4, call: async () => assert.equal((await chat([1, 70_000, 3, 0].map((n) => bytes(n)))).length, 4) },
  { name: 'three messages in DATA frames of one byte each, through both sidecars', via: 'both', requestMessages: 3, responseMessages: 1, call: (m) => bytewise(m.outboundPort, '/weft.test.Messages/Upload', SPLIT) },
  { name: 'three messages in DATA frames of one byte each, straight at the destination', via: 'destination', requestMessages: 3, responseMessages: 1, call: (m) => bytewise(m.inboundPort, '/weft.test.Messages/Upload', SPLIT) },
  {
    name: 'through the ingress gateway: client streaming, 3 messages',
    via: 'gateway',
    requestMessages: 3,
    responseMessages: 1,
    call: () =>
      new Promise<void>((resolve, reject) => {
        const call = viaGateway.upload((err, reply) => (err ? reject(err) : resolve(assert.deepEqual([...reply!], [3]))));
        for (const n of [1, 2, 3]) call.write(bytes(n));
        call.end();
      }),
  },
  {
    name: 'through the ingress gateway: server streaming, 5 replies',
    via: 'gateway',
    requestMessages: 1,
    responseMessages: 5,
    call: async () => assert.equal((await collect(viaGateway.download(Buffer.from([5])))).length, 5),
  },
  {
    name: 'a non-gRPC HTTP/2 request whose body looks like gRPC messages counts none',
    via: 'both',
    requestMessages: 0,
    responseMessages: 0,
    call: async (m) => assert.equal((await h2Post(m.outboundPort, '/weft.test.Messages/Upload', 'application/octet-stream', SPLIT))[':status'], 415),
  },
];

describe('gRPC message counts at both reporters', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const source = c.via === 'gateway' ? mesh.gateway : mesh.client;
      const src = await counts(source, 'source');
      const dst = await counts(mesh.server, 'destination');
      const [sourceLogged, serverLogged] = [source.entries.length, mesh.server.entries.length];
      await c.call(mesh);
      await waitFor(() => mesh.server.entries.length > serverLogged && (c.via === 'destination' || source.entries.length > sourceLogged));
      const want = { requests: 1, requestMessages: c.requestMessages, responseMessages: c.responseMessages };
      const at = (now: Counts, was: Counts): Counts => ({ requests: now.requests - was.requests, requestMessages: now.requestMessages - was.requestMessages, responseMessages: now.responseMessages - was.responseMessages });
      assert.deepEqual(at(await counts(mesh.server, 'destination'), dst), want, 'destination reporter');
      assert.deepEqual(at(await counts(source, 'source'), src), c.via === 'destination' ? { requests: 0, requestMessages: 0, responseMessages: 0 } : want, 'source reporter');
    });
  }

  test("the message series carry istio_requests_total's labels, request_protocol grpc; a non-gRPC request has none", async () => {
    // The non-gRPC request went through the client sidecar, not the gateway.
    for (const [side, reporter, sawHttp] of [
      [mesh.client, 'source', true],
      [mesh.gateway, 'source', false],
      [mesh.server, 'destination', true],
    ] as const) {
      const requests = (await samples(side.metrics, 'istio_requests_total')).filter((s) => s.labels['reporter'] === reporter);
      const key = (s: Sample): string => JSON.stringify(Object.entries(s.labels).sort());
      const grpcSeries = new Set(requests.filter((s) => s.labels['request_protocol'] === 'grpc').map(key));
      assert.equal(requests.some((s) => s.labels['request_protocol'] === 'http'), sawHttp, 'the non-gRPC request has its request series');
      assert.ok(grpcSeries.size > 0);
      for (const name of ['istio_request_messages_total', 'istio_response_messages_total']) {
        const series = (await samples(side.metrics, name)).filter((s) => s.labels['reporter'] === reporter);
        assert.deepEqual(new Set(series.map(key)), grpcSeries, `${name} at ${reporter}`);
      }
    }
  });

  test('a Telemetry override disables GRPC_REQUEST_MESSAGES and upserts and removes tags on GRPC_RESPONSE_MESSAGES', async () => {
    const mode: TelemetryPolicy['client'] = {
      metrics: {
        enabled: true,
        overrides: [
          { metric: 'GRPC_REQUEST_MESSAGES', disabled: true, tags: [] },
          { metric: 'GRPC_RESPONSE_MESSAGES', disabled: false, tags: [{ tag: 'grpc_response_status', remove: true }, { tag: 'call_shape', remove: false, value: "'streamed'" }] },
        ],
      },
      accessLog: null,
      tracing: null,
    };
    const telemetryPolicy: TelemetryPolicy = { applied: ['default/messages'], client: mode, server: mode };
    mesh.client.configure((c) => ({ ...c, telemetryPolicy }));
    mesh.server.configure((c) => ({ ...c, telemetryPolicy }));
    try {
      const src = await counts(mesh.client, 'source');
      const dst = await counts(mesh.server, 'destination');
      const serverLogged = mesh.server.entries.length;
      assert.equal((await collect(client.download(Buffer.from([3])))).length, 3);
      await waitFor(() => mesh.server.entries.length > serverLogged);
      for (const [side, reporter, was] of [
        [mesh.client, 'source', src],
        [mesh.server, 'destination', dst],
      ] as const) {
        const now = await counts(side, reporter);
        assert.equal(now.requestMessages, was.requestMessages, `GRPC_REQUEST_MESSAGES disabled at ${reporter}`);
        assert.equal(now.responseMessages - was.responseMessages, 3);
        const upserted = (await samples(side.metrics, 'istio_response_messages_total')).filter((s) => s.labels['reporter'] === reporter && 'call_shape' in s.labels);
        assert.equal(upserted.length, 1, reporter);
        assert.equal(upserted[0]!.labels['call_shape'], 'streamed');
        assert.equal('grpc_response_status' in upserted[0]!.labels, false);
        assert.equal(upserted[0]!.value, 3);
        // istio_requests_total is untouched by overrides of other metrics.
        assert.equal(now.requests - was.requests, 1);
      }
    } finally {
      mesh.client.configure();
      mesh.server.configure();
    }
  });
});
