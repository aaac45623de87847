/**
 * The hand-written access-log line against the generic one it replaced: for any entry, the same text as
 * `JSON.stringify` of the entry without its unlogged fields, after the time and the message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jsonAccessLine } from './json-access-line.js';
import type { AccessLogEntry } from './access-log.js';

function reference(entry: AccessLogEntry, endMs: number): string {
  const { trace: _trace, requestHeaders: _headers, connection: _connection, ...fields } = entry;
  return `{"time":"${new Date(endMs).toISOString()}","msg":"access",${JSON.stringify(fields).slice(1)}\n`;
}

const text = fc.string({ unit: 'binary', maxLength: 40 });
const num = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 1e21, 5e-324));
const entryArb = fc.record(
  {
    direction: fc.constantFrom('inbound', 'outbound', 'gateway'),
    method: text,
    authority: text,
    path: text,
    status: fc.integer({ min: 0, max: 599 }),
    durationMs: num,
    upstream: fc.option(text, { nil: undefined }),
    reason: fc.option(text, { nil: undefined }),
    requestId: text,
    authz: fc.record({ decision: text, policy: fc.option(text, { nil: null }), rule: fc.option(fc.integer(), { nil: null }) }),
    dryRun: fc.array(fc.record({ policy: text, rule: fc.option(fc.integer(), { nil: null }), action: text, wouldDeny: fc.boolean() }), { maxLength: 3 }),
    egress: fc.record({ decision: fc.constantFrom('external', 'passthrough', 'denied'), protocol: fc.constantFrom('http', 'tls', 'tcp'), sni: fc.option(text, { nil: undefined }) }),
    mtls: fc.boolean(),
    grpcStatus: fc.option(fc.integer({ min: 0, max: 16 }), { nil: undefined }),
    requestBytes: num,
    responseBytes: num,
    userAgent: text,
    port: fc.integer({ min: 1, max: 65535 }),
    requestHeaders: fc.dictionary(text, text, { maxKeys: 3 }),
    connection: fc.constant({ bytesRead: 1, bytesWritten: 2 }),
    trace: fc.constant({ traceId: 'a'.repeat(32) }),
  },
  { requiredKeys: ['direction', 'method', 'authority', 'path', 'status', 'durationMs'] },
) as unknown as fc.Arbitrary<AccessLogEntry>;

test('the line is what JSON.stringify writes, for any entry and field order', () => {
  fc.assert(
    fc.property(entryArb, fc.integer({ min: 0, max: 4_102_444_800_000 }), (entry, endMs) => {
      assert.equal(jsonAccessLine(entry, endMs), reference(entry, endMs));
    }),
    { numRuns: 2000 },
  );
});

test('lines of one millisecond share the time; the next millisecond has its own', () => {
  const e = { direction: 'inbound', method: 'GET', authority: 'a', path: '/', status: 200, durationMs: 1 } as AccessLogEntry;
  assert.match(jsonAccessLine(e, 1_000), /"time":"1970-01-01T00:00:01.000Z"/);
  assert.match(jsonAccessLine(e, 1_000), /"time":"1970-01-01T00:00:01.000Z"/);
  assert.match(jsonAccessLine(e, 1_001), /"time":"1970-01-01T00:00:01.001Z"/);
});
