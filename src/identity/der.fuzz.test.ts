/**
 * Property-based fuzzing (fast-check) of the DER reader: on any bytes, and on mutations of a real CSR, reads stay
 * inside their container and fail only with DerError; whatever it reads re-encodes to exactly the input (DER has one
 * encoding per value, and the reader accepts nothing else); OBJECT IDENTIFIERs round-trip.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, mutationsOf, withinTime } from '../../test/support/fuzz.js';
import { DerError, children, contents, decodeOid, encodeOid, readTlv, tlv } from './der.js';
import type { Tlv } from './der.js';
import { decodePemBlocks } from './pem.js';
import { createCsr, generateWorkloadKey } from './workload-key.js';

const CONSTRUCTED = 0x20;
const MAX_DEPTH = 32;

/** Re-encodes the TLV at `t` from what the reader returned, descending into constructed values it can read. */
function reencode(der: Uint8Array, t: Tlv, depth = 0): Buffer {
  assert.ok(t.begin < t.start && t.start <= t.end && t.end <= der.length, `TLV out of bounds: ${JSON.stringify(t)}`);
  if ((t.tag & CONSTRUCTED) !== 0 && depth < MAX_DEPTH) {
    let inner: Tlv[] | undefined;
    try {
      inner = children(der, t);
    } catch (err) {
      assert.ok(err instanceof DerError, String(err));
    }
    if (inner !== undefined) return tlv(t.tag, ...inner.map((c) => reencode(der, c, depth + 1)));
  }
  return tlv(t.tag, contents(der, t));
}

/** Reads `der` as one TLV and, if that works, asserts it re-encodes to exactly the bytes it spans. */
function readAndReencode(der: Uint8Array): void {
  let top: Tlv;
  try {
    top = readTlv(der, 0);
  } catch (err) {
    assert.ok(err instanceof DerError, String(err));
    return;
  }
  assert.deepEqual(reencode(der, top), Buffer.from(der.subarray(0, top.end)));
}

/** Valid dotted OIDs: first arc 0..2, second below 40 unless the first is 2, arcs up to 2^32. */
const oid = fc
  .tuple(fc.integer({ min: 0, max: 2 }), fc.nat({ max: 1000 }), fc.array(fc.nat({ max: 2 ** 32 }), { maxLength: 10 }))
  .map(([a, b, rest]) => [a, a < 2 ? b % 40 : b, ...rest].join('.'));

describe('DER reader (fuzz)', () => {
  let csrDer: Buffer;
  before(async () => {
    const key = await generateWorkloadKey();
    csrDer = decodePemBlocks(await createCsr(key, 'spiffe://cluster.local/ns/default/sa/web'))[0]?.der ?? Buffer.alloc(0);
  });

  test('a real CSR re-encodes to itself', () => {
    readAndReencode(csrDer);
    assert.equal(readTlv(csrDer, 0).end, csrDer.length);
  });

  test('arbitrary bytes: DerError or a value that re-encodes to the input', { timeout: 60_000 }, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => withinTime(() => readAndReencode(bytes))), fuzzRuns(2000));
  });

  test('mutations of a real CSR: DerError or a value that re-encodes to the input', { timeout: 60_000 }, () => {
    fc.assert(fc.property(mutationsOf(csrDer), (bytes) => withinTime(() => readAndReencode(bytes))), fuzzRuns(1000));
  });

  test('OBJECT IDENTIFIERs round-trip through encodeOid and decodeOid', { timeout: 60_000 }, () => {
    fc.assert(fc.property(oid, (dotted) => assert.equal(decodeOid(encodeOid(dotted).subarray(2)), dotted)), fuzzRuns(1000));
  });

  test('any OID contents: DerError, or the decoded OID encodes to exactly those bytes', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        let dotted: string;
        try {
          dotted = decodeOid(bytes);
        } catch (err) {
          assert.ok(err instanceof DerError, String(err));
          return;
        }
        assert.deepEqual(encodeOid(dotted).subarray(2), Buffer.from(bytes));
      }),
      fuzzRuns(2000),
    );
  });
});
