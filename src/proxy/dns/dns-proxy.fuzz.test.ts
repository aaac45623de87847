/**
 * Property-based fuzzing (fast-check) of the DNS proxy's sockets: TCP streams of length-prefixed queries whose
 * lengths, contents and chunking are mutated, and arbitrary UDP datagrams. Every TCP reply is a framed DNS response
 * to a query that was sent, and after each case the proxy still answers a plain query: nothing a client sends
 * stops it serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import { RECURSION_DESIRED, decode, encode } from 'dns-packet';
import { fuzzRuns, mutationsOf } from '../../../test/support/fuzz.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { DnsTable } from './dns-table.js';
import { startDnsProxy } from './dns-proxy.js';
import type { DnsProxy } from './dns-proxy.js';

const outbound: ProxyConfig['outbound'] = {
  services: [{ host: 'httpbin.default.svc.cluster.local', namespace: 'default', aliases: ['httpbin'], ports: [], addresses: ['198.19.0.10'] }],
  externals: [],
  trafficPolicy: 'REGISTRY_ONLY',
};
const table = new DnsTable(outbound);
const query = (id: number, name: string): Buffer => encode({ id, type: 'query', flags: RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] });
const QUERIES = [query(1, 'httpbin'), query(2, 'example.org')];

function framed(q: Uint8Array): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(q.length);
  return Buffer.concat([len, q]);
}

/** Writes `chunks` on one TCP connection, ends it, and returns everything the proxy sent back. */
function exchangeTcp(port: number, chunks: Buffer[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error('the proxy neither answered nor closed within 5 s'));
    }, 5_000);
    c.on('data', (d: Buffer) => got.push(d));
    c.on('error', () => undefined);
    c.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
    c.on('connect', () => {
      for (const chunk of chunks) c.write(chunk);
      c.end();
    });
  });
}

/** One UDP query; the decoded response, or undefined after `timeoutMs`. */
function askUdp(port: number, q: Uint8Array, timeoutMs: number): Promise<ReturnType<typeof decode> | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(decode(msg));
    });
    s.send(q, port, '127.0.0.1');
  });
}

async function stillServes(port: number): Promise<void> {
  const r = await askUdp(port, query(77, 'httpbin'), 3_000);
  assert.deepEqual(r?.answers?.map((a) => (a as { data: unknown }).data), ['198.19.0.10']);
}

describe('DNS proxy sockets (fuzz)', () => {
  let proxy: DnsProxy;
  before(async () => {
    // No upstream: every name the table lacks gets NXDOMAIN at once, so nothing waits on a relay.
    proxy = await startDnsProxy({ port: 0, host: '127.0.0.1', upstream: [], table: () => table });
  });
  after(async () => {
    await proxy.close();
  });

  test('mutated TCP streams: framed responses to the ids sent, and the proxy keeps serving', { timeout: 120_000 }, async () => {
    const message = fc.oneof(mutationsOf(...QUERIES.map(framed)), fc.constantFrom(...QUERIES.map(framed)));
    const stream = fc.tuple(fc.array(message, { minLength: 1, maxLength: 4 }), fc.array(fc.nat({ max: 200 }), { maxLength: 4 }));
    await fc.assert(
      fc.asyncProperty(stream, async ([messages, cuts]) => {
        const bytes = Buffer.concat(messages);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [...points, bytes.length].map((p, i) => bytes.subarray(i === 0 ? 0 : points[i - 1], p));
        const replies = await exchangeTcp(proxy.port, chunks);
        for (let at = 0; at < replies.length; ) {
          assert.ok(at + 2 <= replies.length, 'a reply cut short');
          const len = replies.readUInt16BE(at);
          const response = decode(replies.subarray(at + 2, at + 2 + len));
          assert.equal(response.type, 'response');
          at += 2 + len;
        }
        await stillServes(proxy.port);
      }),
      fuzzRuns(60),
    );
  });

  test('arbitrary and mutated UDP datagrams: the proxy keeps serving', { timeout: 120_000 }, async () => {
    const datagram = fc.oneof(mutationsOf(...QUERIES), fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)));
    await fc.assert(
      fc.asyncProperty(fc.array(datagram, { minLength: 1, maxLength: 8 }), async (datagrams) => {
        const s = dgram.createSocket('udp4');
        await Promise.all(datagrams.map((d) => new Promise<void>((r) => s.send(d, proxy.port, '127.0.0.1', () => r()))));
        s.close();
        await stillServes(proxy.port);
      }),
      fuzzRuns(60),
    );
  });
});
