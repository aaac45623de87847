import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from 'undici';
import { WeftError } from '../../errors.js';
import { upstreamFailure } from './upstream-error.js';

function coded(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

/*
 * Envoy's response codes for upstream failures (Envoy docs, "Response code details" and the router's
 * upstream_reset_before_response_started / upstream_response_timeout): connect failures and resets before headers
 * are 503, a response that did not arrive in time is 504, a malformed response is 502.
 */
const rows: Array<{ name: string; err: unknown; status: 502 | 503 | 504; reason: RegExp }> = [
  { name: 'connection refused', err: coded('ECONNREFUSED'), status: 503, reason: /reset reason: ECONNREFUSED/ },
  { name: 'connection reset', err: coded('ECONNRESET'), status: 503, reason: /disconnect\/reset before headers.*ECONNRESET/ },
  { name: 'undici socket closed', err: new errors.SocketError('other side closed'), status: 503, reason: /UND_ERR_SOCKET/ },
  { name: 'undici connect timeout', err: new errors.ConnectTimeoutError(), status: 503, reason: /UND_ERR_CONNECT_TIMEOUT/ },
  { name: 'undici headers timeout', err: new errors.HeadersTimeoutError(), status: 504, reason: /^upstream request timeout$/ },
  { name: 'undici body timeout', err: new errors.BodyTimeoutError(), status: 504, reason: /^upstream request timeout$/ },
  { name: 'ETIMEDOUT', err: coded('ETIMEDOUT'), status: 504, reason: /timeout/ },
  { name: 'undici invalid response', err: new errors.InformationalError('bad'), status: 502, reason: /invalid upstream response \(UND_ERR_INFO\)/ },
  { name: 'llhttp parse error', err: coded('HPE_INVALID_CONSTANT'), status: 502, reason: /HPE_INVALID_CONSTANT/ },
  { name: 'wrong peer identity', err: new WeftError('PEER_IDENTITY_MISMATCH', 'peer is spiffe://x/ns/a/sa/b'), status: 503, reason: /^upstream connect error: peer is spiffe/ },
  { name: 'no endpoint reachable', err: new WeftError('UPSTREAM_UNREACHABLE', 'no healthy endpoint'), status: 503, reason: /upstream connect error: no healthy endpoint/ },
  { name: 'other weft error', err: new WeftError('NOT_FOUND', 'gone'), status: 503, reason: /reset reason: NOT_FOUND/ },
  { name: 'error without code', err: new Error('boom'), status: 503, reason: /reset reason: boom/ },
  { name: 'not an error at all', err: null, status: 503, reason: /reset reason: unknown/ },
  { name: 'a thrown string', err: 'weird', status: 503, reason: /reset reason: unknown/ },
];

describe('upstreamFailure', () => {
  for (const row of rows) {
    test(row.name, () => {
      const got = upstreamFailure(row.err);
      assert.equal(got.status, row.status);
      assert.match(got.reason, row.reason);
    });
  }
});
