/**
 * Property-based fuzzing (fast-check) of the DNS proxy's query handling on what an app may send: real queries
 * mutated (bit flips, truncations, counts and label lengths off by a little, bytes inserted and deleted) and
 * arbitrary bytes. It never throws; it never answers a response; whatever it answers is a well-formed response
 * to that query's id; a mesh name is answered only with the table's address.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RECURSION_DESIRED, decode, encode } from 'dns-packet';
import type { RecordType } from 'dns-packet';
import { fuzzRuns, mutationsOf, withinTime } from '../../../test/support/fuzz.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { DnsTable } from './dns-table.js';
import { RCODE_SERVFAIL, answerDnsQuery, refusal } from './dns-answer.js';

const outbound: ProxyConfig['outbound'] = {
  services: [
    { host: 'httpbin.default.svc.cluster.local', namespace: 'default', aliases: ['httpbin'], ports: [], addresses: ['198.19.0.10'] },
    { host: 'v6.default.svc.cluster.local', namespace: 'default', aliases: [], ports: [], addresses: ['fd00::10'] },
  ],
  externals: [],
  trafficPolicy: 'REGISTRY_ONLY',
};
const table = new DnsTable(outbound);

function query(id: number, name: string, type: RecordType): Buffer {
  return encode({ id, type: 'query', flags: RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}
const QUERIES = [
  query(1, 'httpbin', 'A'),
  query(2, 'v6.default.svc.cluster.local', 'AAAA'),
  query(3, 'HTTPBIN.default.svc.cluster.local.', 'TXT'),
  query(4, 'outside.example.org', 'A'),
];

/** Judges `bytes` and checks the verdict against the properties above. */
function judged(bytes: Buffer): void {
  const verdict = withinTime(() => answerDnsQuery(table, bytes));
  const isResponse = bytes.length >= 4 && (bytes.readUInt16BE(2) & 0x8000) !== 0;
  if (isResponse || bytes.length < 12) assert.equal(verdict.kind, 'drop');
  if (verdict.kind !== 'answer') return;
  const response = decode(verdict.response);
  assert.equal(response.type, 'response');
  assert.equal(response.id, bytes.readUInt16BE(0));
  for (const answer of response.answers ?? []) {
    assert.ok(answer.type === 'A' || answer.type === 'AAAA', answer.type);
    assert.equal(answer.data, table.address(answer.name));
  }
}

describe('DNS query handling (fuzz)', () => {
  test('mutated real queries: no throw, never answering a response, answers well formed', { timeout: 60_000 }, () => {
    fc.assert(fc.property(mutationsOf(...QUERIES), judged), fuzzRuns(3000));
  });

  test('arbitrary bytes with a query header: no throw, answers well formed', { timeout: 60_000 }, () => {
    const packet = fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 200 }))
      .map(([id, flags, counts, body]) => {
        const header = Buffer.alloc(12);
        header.writeUInt16BE(id, 0);
        header.writeUInt16BE(flags & 0x7fff, 2);
        counts.forEach((c, i) => header.writeUInt16BE(c, 4 + 2 * i));
        return Buffer.concat([header, body]);
      });
    fc.assert(fc.property(fc.oneof(packet, fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b))), judged), fuzzRuns(3000));
  });

  test('a refusal of any query of 12 bytes or more is a response to its id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 100 }), (bytes) => {
        const out = refusal(Buffer.from(bytes), RCODE_SERVFAIL);
        assert.equal(out.readUInt16BE(0), Buffer.from(bytes).readUInt16BE(0));
        assert.equal(out.readUInt16BE(2) & 0x800f, 0x8000 | RCODE_SERVFAIL);
      }),
      fuzzRuns(500),
    );
  });
});
