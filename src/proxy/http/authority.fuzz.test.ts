/**
 * Property-based fuzzing (fast-check) of the HTTP authority and request-target parsers: they never throw, and what
 * they accept is a clean host (lower case, no trailing dot, nothing that could start a path, query or user info)
 * with a valid port, which formats and parses back to itself.
 */
import { isIPv6 } from 'node:net';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, textMutationsOf, withinTime } from '../../../test/support/fuzz.js';
import { parseAuthority, requestTarget } from './authority.js';
import type { Authority } from './authority.js';

const piece = fc.constantFrom('a', 'B', '.', '..', ':', '::', '[', ']', '::1', '[::1]', '80', '0', '65535', '65536', '@', '/', '?', '#',
  ' ', '\t', '%', 'xn--', '1.2.3.4', '-', '_');
const authority = fc.oneof(
  fc.array(piece, { maxLength: 10 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  textMutationsOf('httpbin.default.svc.cluster.local:8000', '[2001:db8::1]:443', 'example.com.', '127.0.0.1:9080'),
);

function format(a: Authority): string {
  const host = isIPv6(a.host) ? `[${a.host}]` : a.host;
  return a.port === undefined ? host : `${host}:${a.port}`;
}

/** Asserts what parseAuthority accepted is clean and parses back to itself. */
function assertCleanAuthority(a: Authority): void {
  assert.ok(a.host !== '', 'empty host');
  assert.equal(a.host, a.host.toLowerCase());
  assert.ok(!a.host.endsWith('.'), `trailing dot in ${a.host}`);
  assert.doesNotMatch(a.host, /[\s/?#@[\]]/);
  if (a.port !== undefined) assert.ok(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535, String(a.port));
  assert.deepEqual(parseAuthority(format(a)), a);
}

describe('HTTP authority (fuzz)', () => {
  test('parseAuthority never throws, and what it accepts is clean and round-trips', () => {
    fc.assert(
      fc.property(authority, (text) => {
        const a = withinTime(() => parseAuthority(text));
        if (a !== undefined) assertCleanAuthority(a);
      }),
      fuzzRuns(3000),
    );
  });

  test('requestTarget never throws; it yields a non-empty authority without delimiters and a path from "/"', () => {
    const scheme = fc.constantFrom('', 'http://', 'HTTPS://', 'https:/', 'ftp://', '/');
    const rest = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.array(piece, { maxLength: 10 }).map((p) => p.join('')));
    fc.assert(
      fc.property(scheme, rest, fc.option(authority, { nil: undefined }), (s, r, host) => {
        const t = withinTime(() => requestTarget(s + r, host));
        if (t === undefined) return;
        assert.ok(t.path.startsWith('/'), t.path);
        assert.ok(t.authority !== '');
        if (!(s + r).startsWith('/')) assert.doesNotMatch(t.authority, /[/?#]/);
      }),
      fuzzRuns(3000),
    );
  });
});
