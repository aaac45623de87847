/**
 * gRPC's message size limit at the destination sidecar: a caller that bypassed its own sidecar (plaintext on a
 * PERMISSIVE port) or whose sidecar allows more is measured again before the app, with the same answer as the client
 * side gives: RESOURCE_EXHAUSTED, trailers-only if the app has not answered, else in the answer's trailers. The
 * gRPC client and server have their own limits lifted, so the refusal can only come from the proxy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { MESSAGES_AUTHORITY, messagesClient, startMessagesMesh } from './grpc-messages.fixture.js';
import type { MessagesClient, MessagesMesh } from './grpc-messages.fixture.js';

const LIMIT = 1024;
let mesh: MessagesMesh;
/** Straight at the server sidecar: no client sidecar measured these calls. */
let direct: MessagesClient;
/** Through the client sidecar, whose limit is gRPC's default 4 MiB. */
let viaClientSidecar: MessagesClient;

before(async () => {
  mesh = await startMessagesMesh();
  mesh.server.configure((c) => ({ ...c, security: { ...c.security, grpcMaxMessageBytes: LIMIT } }));
  direct = messagesClient(mesh.inboundPort);
  viaClientSidecar = messagesClient(mesh.outboundPort);
});
after(async () => {
  direct.close();
  viaClientSidecar.close();
  await mesh.close();
});

function unary(client: MessagesClient, payload: Buffer): Promise<{ err: grpc.ServiceError | null; reply?: Buffer }> {
  return new Promise((resolve) => client.unary(payload, (err, reply) => resolve({ err, reply })));
}

async function serverLogged(count: number): Promise<void> {
  for (let i = 0; mesh.server.entries.length < count; i++) {
    if (i > 500) throw new Error('the server sidecar never logged the call');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('gRPC message size limit at the destination sidecar', () => {
  test('a message within the limit reaches the app', async () => {
    const { err, reply } = await unary(direct, Buffer.alloc(LIMIT, 1));
    assert.equal(err, null);
    assert.equal(reply!.length, LIMIT);
  });

  const oversize = [
    { name: 'from a caller without a sidecar', client: () => direct },
    { name: 'through a client sidecar whose limit is larger', client: () => viaClientSidecar },
  ];
  for (const c of oversize) {
    test(`a unary request one byte over the limit ${c.name}: RESOURCE_EXHAUSTED, the app never sees it`, async () => {
      const received = mesh.received.length;
      const logged = mesh.server.entries.length;
      const { err } = await unary(c.client(), Buffer.alloc(LIMIT + 1, 2));
      assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(err!.details, new RegExp(`request message larger than max \\(${LIMIT + 1} vs\\. ${LIMIT}\\)`));
      assert.equal(mesh.received.length, received, 'the app received nothing');
      await serverLogged(logged + 1);
      const e = mesh.server.entries.at(-1)!;
      assert.deepEqual([e.direction, e.status, e.grpcStatus, e.reason, e.grpcRequestMessages], ['inbound', 200, 8, 'request payload too large', 0]);
      // The connection serves the next call.
      assert.equal((await unary(c.client(), Buffer.from('after'))).reply?.toString(), 'after');
    });
  }

  test('bidi: once the app has answered, an oversize message ends the answer with RESOURCE_EXHAUSTED in its trailers', async () => {
    const logged = mesh.server.entries.length;
    const received = mesh.received.length;
    const call = direct.chat();
    const replies: Buffer[] = [];
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      call.on('error', (err: grpc.ServiceError) => resolve(err));
      call.on('end', () => resolve(undefined));
    });
    const first = new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.on('data', (m: Buffer) => replies.push(m));
    call.write(Buffer.alloc(100, 3));
    await first;
    call.write(Buffer.alloc(LIMIT + 500, 4));
    const err = await ended;
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(replies.map((r) => r.length), [100]);
    assert.deepEqual(mesh.received.slice(received), [100], 'the app saw the first message only');
    await serverLogged(logged + 1);
    const e = mesh.server.entries.at(-1)!;
    assert.deepEqual([e.grpcStatus, e.reason, e.grpcRequestMessages, e.grpcResponseMessages], [8, 'request payload too large', 1, 1]);
  });

  test('a lying length prefix (4 GiB claimed, 3 bytes sent, stream left open) is refused as soon as the prefix is read', async () => {
    const logged = mesh.server.entries.length;
    const received = mesh.received.length;
    const session = http2.connect(`http://127.0.0.1:${mesh.inboundPort}`);
    session.on('error', () => undefined);
    try {
      const req = session.request({ ':method': 'POST', ':path': '/weft.test.Messages/Upload', ':authority': MESSAGES_AUTHORITY, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      const answer = new Promise<http2.IncomingHttpHeaders>((resolve) => req.once('response', (h) => resolve(h)));
      req.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      const h = await answer;
      assert.deepEqual([h[':status'], h['grpc-status'], h['content-type']], [200, '8', 'application/grpc']);
      assert.match(String(h['grpc-message']), /request message larger than max \(4294967295 vs\. 1024\)/);
      await serverLogged(logged + 1);
      assert.equal(mesh.server.entries.at(-1)!.reason, 'request payload too large');
      assert.equal(mesh.received.length, received);
    } finally {
      session.close();
    }
  });
});
