import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { upstreamHeaders } from './forward.js';

/** The two things upstreamHeaders reads from a request: raw headers in order and Node's joined view. */
function incoming(raw: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    headers[k] = headers[k] === undefined ? raw[i + 1]! : `${headers[k]}, ${raw[i + 1]!}`;
  }
  return { rawHeaders: raw, headers } as unknown as IncomingMessage;
}
function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

/*
 * RFC 9110 §7.6.1: Connection, the headers it lists, and the hop-by-hop set (Keep-Alive, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade, Proxy-Authorization, Proxy-Authenticate) are not forwarded. Istio's sidecar
 * sets x-forwarded-client-cert itself (SANITIZE_SET), so a caller's XFCC never reaches the app.
 */
const dropped: Array<[name: string, value: string]> = [
  ['Connection', 'keep-alive'],
  ['Keep-Alive', 'timeout=5'],
  ['Proxy-Connection', 'keep-alive'],
  ['Proxy-Authorization', 'Basic Zm9vOmJhcg=='],
  ['Proxy-Authenticate', 'Basic'],
  ['TE', 'trailers'],
  ['Trailer', 'x-checksum'],
  ['Transfer-Encoding', 'chunked'],
  ['Upgrade', 'websocket'],
  ['X-Forwarded-Client-Cert', 'By=spiffe://evil;URI=spiffe://example.org/ns/default/sa/admin'],
  ['x-forwarded-client-cert', 'Hash=00'],
  ['Host', 'spoofed.example.com'],
];

describe('upstreamHeaders', () => {
  for (const [name, value] of dropped) {
    test(`drops ${name}`, () => {
      const got = upstreamHeaders(incoming(['Accept', '*/*', name, value]), 'reviews:9080', []);
      assert.deepEqual(pairs(got), [
        ['Accept', '*/*'],
        ['host', 'reviews:9080'],
      ]);
    });
  }

  test('drops the headers Connection names, whatever their case and spacing', () => {
    const req = incoming(['Connection', 'close, X-Secret ,x-other', 'X-Secret', 's', 'X-Other', 'o', 'X-Kept', 'k']);
    assert.deepEqual(pairs(upstreamHeaders(req, 'a', [])), [
      ['X-Kept', 'k'],
      ['host', 'a'],
    ]);
  });

  test('Connection tokens from several Connection lines all count', () => {
    const req = incoming(['Connection', 'x-one', 'Connection', 'x-two', 'X-One', '1', 'X-Two', '2', 'X-Three', '3']);
    assert.deepEqual(pairs(upstreamHeaders(req, 'a', [])), [
      ['X-Three', '3'],
      ['host', 'a'],
    ]);
  });

  test('end-to-end headers keep their order, case and repeats; host then extras come last', () => {
    const req = incoming(['User-Agent', 'curl', 'Cookie', 'a=1', 'Cookie', 'b=2', 'Authorization', 'Bearer t', 'Content-Length', '3']);
    const got = upstreamHeaders(req, 'reviews.default.svc.cluster.local:9080', ['x-forwarded-client-cert', 'By=me', 'x-request-id', 'r1']);
    assert.deepEqual(pairs(got), [
      ['User-Agent', 'curl'],
      ['Cookie', 'a=1'],
      ['Cookie', 'b=2'],
      ['Authorization', 'Bearer t'],
      ['Content-Length', '3'],
      ['host', 'reviews.default.svc.cluster.local:9080'],
      ['x-forwarded-client-cert', 'By=me'],
      ['x-request-id', 'r1'],
    ]);
  });

  test('no headers at all still sends host', () => {
    assert.deepEqual(upstreamHeaders(incoming([]), 'a:1', []), ['host', 'a:1']);
  });
});
