/** The access log's facts of a request's own headers: bounded, and the id the proxy generated when none came. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRequestFacts } from './request-facts.js';
import type { RequestFacts } from './request-facts.js';

test('the client\'s request id, user agent and forwarding chain, bounded to 256 characters', () => {
  const headers = { 'x-request-id': 'r'.repeat(300), 'user-agent': 'ua-1', 'x-forwarded-for': '203.0.113.9' };
  const e: RequestFacts = {};
  addRequestFacts(e, headers, ['x-request-id', 'generated']);
  assert.equal(e.requestId, 'r'.repeat(256));
  assert.equal(e.userAgent, 'ua-1');
  assert.equal(e.forwardedFor, '203.0.113.9');
  assert.equal(e.requestHeaders, headers);
  assert.equal(e.httpVersion, undefined);
  assert.equal(e.protocol, undefined);
});

test('a request that came without an id logs the one the proxy sent upstream (HTTP/1.1 and HTTP/2 alike)', () => {
  const e: RequestFacts = {};
  addRequestFacts(e, { ':method': 'POST', 'content-type': 'application/grpc+proto' }, ['x-weft-peer-workload', 'default/a', 'x-request-id', 'generated-id']);
  assert.equal(e.requestId, 'generated-id');
  assert.equal(e.httpVersion, 'HTTP/2');
  assert.equal(e.protocol, 'grpc');
  const none: RequestFacts = {};
  addRequestFacts(none, {});
  assert.equal(none.requestId, undefined);
});
