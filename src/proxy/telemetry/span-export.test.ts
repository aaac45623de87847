/**
 * The span queue at shutdown: what is queued when a proxy stops goes to the collector, the export in flight and
 * every batch behind it; a collector that is gone costs one failed export, and the spans it could not take are
 * counted as dropped. A real OTLP/HTTP endpoint on loopback, answering slowly or not at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanExportQueue } from './span-export.js';

const resource = resourceFromAttributes({ 'service.name': 'test' });

function span(i: number): ReadableSpan {
  const id = i.toString(16).padStart(16, '0');
  return {
    name: `op-${i}`,
    kind: SpanKind.CLIENT,
    spanContext: () => ({ traceId: id.repeat(2), spanId: id, traceFlags: TraceFlags.SAMPLED }),
    startTime: [1, 0],
    endTime: [1, 1000],
    status: { code: SpanStatusCode.UNSET },
    attributes: {},
    links: [],
    events: [],
    duration: [0, 1000],
    ended: true,
    resource,
    instrumentationScope: { name: 'test' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** An OTLP/HTTP receiver that answers each export after `delayMs`, with `status`. */
async function collector(delayMs: number, status: number): Promise<{ port: number; posts: () => number; close(): Promise<void> }> {
  let posts = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/x-protobuf' });
        res.end();
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    posts: () => posts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

function counting(): { exported: number; dropped: number; counts: ConstructorParameters<typeof SpanExportQueue>[0] } {
  const c = {
    exported: 0,
    dropped: 0,
    counts: {
      exported: (n: number) => void (c.exported += n),
      dropped: (n: number) => void (c.dropped += n),
    },
  };
  return c;
}

/** 1,212 spans queued (a full batch of 512 goes at once, 700 wait behind it), then `close`: the counts and the posts. */
async function closeWith(delayMs: number, status: number): Promise<{ exported: number; dropped: number; posts: number }> {
  const otlp = await collector(delayMs, status);
  try {
    const c = counting();
    const queue = new SpanExportQueue(c.counts);
    const to = { host: '127.0.0.1', port: otlp.port, path: '/v1/traces' };
    for (let i = 0; i < 1212; i++) queue.add(() => span(i), to);
    await queue.close();
    return { exported: c.exported, dropped: c.dropped, posts: otlp.posts() };
  } finally {
    await otlp.close();
  }
}

test('close exports the batch in flight and every span queued behind it', async () => {
  // The collector answers after 200 ms: the first batch is still in flight at close.
  assert.deepEqual(await closeWith(200, 200), { exported: 1212, dropped: 0, posts: 3 });
});

test('close with a collector that refuses: one failed export, and every span left is counted as dropped', async () => {
  const got = await closeWith(0, 400);
  assert.deepEqual({ exported: got.exported, dropped: got.dropped }, { exported: 0, dropped: 1212 });
  assert.ok(got.posts <= 2, `the rest is not tried once the collector refused: ${got.posts} posts`);
});
