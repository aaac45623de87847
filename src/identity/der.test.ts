import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DerError, TAG, decodeOid, encodeOid, encodeTime, readTlv, tlv } from './der.js';

describe('DER', () => {
  const times: Array<[string, string, number]> = [
    ['2026-11-25T08:00:05Z', '261125080005Z', TAG.UTC_TIME],
    ['2049-12-31T23:59:59Z', '491231235959Z', TAG.UTC_TIME],
    ['2050-01-01T00:00:00Z', '20500101000000Z', TAG.GENERALIZED_TIME],
    ['1999-01-02T03:04:05Z', '990102030405Z', TAG.UTC_TIME],
  ];
  for (const [iso, text, tag] of times) {
    test(`encodes ${iso} as ${text} (RFC 5280 4.1.2.5)`, () => {
      const der = encodeTime(Date.parse(iso));
      assert.equal(der[0], tag);
      assert.equal(der.subarray(2).toString('ascii'), text);
    });
  }

  for (const oid of ['2.5.29.17', '1.2.840.113549.1.9.14', '1.2.840.10045.4.3.2', '1.3.6.1.5.5.7.3.2']) {
    test(`OID ${oid} round-trips`, () => {
      const der = encodeOid(oid);
      assert.equal(decodeOid(der.subarray(2)), oid);
    });
  }

  test('encodeOid matches the known encoding of ecdsa-with-SHA256', () => {
    assert.equal(encodeOid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  });

  test('long lengths use the minimal long form', () => {
    const der = tlv(TAG.OCTET_STRING, Buffer.alloc(300));
    assert.deepEqual([...der.subarray(0, 4)], [0x04, 0x82, 0x01, 0x2c]);
    assert.deepEqual(readTlv(der, 0), { tag: 0x04, begin: 0, start: 4, end: 304 });
  });

  // Found by der.fuzz.test.ts: each of these read as some OID, so two encodings could name one OID.
  const malformedOids: Array<[string, number[], RegExp]> = [
    ['an empty OID', [], /empty/],
    ['a non-minimal arc (leading 0x80)', [0x2a, 0x80, 0x01], /non-minimal/],
    ['a last arc cut off', [0x2a, 0x86], /truncated/],
    ['an arc too large to hold exactly', [0x2a, ...Array(8).fill(0xff), 0x7f], /too large/],
  ];
  for (const [what, bytes, message] of malformedOids) {
    test(`decodeOid refuses ${what}`, () => {
      assert.throws(() => decodeOid(Uint8Array.from(bytes)), (err) => err instanceof DerError && message.test(err.message));
    });
  }

  const malformed: Array<[string, number[]]> = [
    ['truncated header', [0x30]],
    ['content past the end', [0x30, 0x05, 0x01]],
    ['indefinite length', [0x30, 0x80, 0x00, 0x00]],
    ['non-minimal long length', [0x04, 0x81, 0x05, 1, 2, 3, 4, 5]],
    ['multi-byte tag', [0x1f, 0x81, 0x01, 0x00]],
  ];
  for (const [what, bytes] of malformed) {
    test(`refuses ${what}`, () => {
      assert.throws(() => readTlv(Uint8Array.from(bytes), 0), DerError);
    });
  }
});
