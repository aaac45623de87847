/**
 * Property-based fuzzing (fast-check) of the ClientHello SNI reader on what an app may send: real ClientHellos
 * mutated (bit flips, truncations, length fields off by a little, bytes inserted and deleted) and arbitrary bytes.
 * It never throws; a decision depends only on the bytes it decided on (appending more never changes one, so it
 * read nothing past them); every prefix of a real hello is "incomplete"; a name it returns is a clean DNS name.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, mutationsOf, withinTime } from '../../../test/support/fuzz.js';
import { captureHello, splitIntoTwoRecords } from './client-hello.fixture.js';
import { parseClientHello } from './client-hello.js';
import type { ClientHelloResult } from './client-hello.js';


function parse(bytes: Buffer): ClientHelloResult {
  return withinTime(() => parseClientHello(bytes));
}

function assertCleanResult(r: ClientHelloResult): void {
  if (r.kind === 'hello' && r.sni !== undefined) {
    assert.match(r.sni, /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/);
    assert.ok(r.sni.length <= 255);
  }
}

describe('parseClientHello (fuzz)', () => {
  let hellos: Buffer[];
  before(async () => {
    const withSni = await captureHello({ servername: 'api.example.com' });
    hellos = [withSni, await captureHello({ servername: 'legacy.example.org', maxVersion: 'TLSv1.2' }), splitIntoTwoRecords(withSni, 60)];
  });

  test('every proper prefix of a real ClientHello is incomplete', () => {
    for (const hello of hellos) {
      const whole = parse(hello);
      assert.equal(whole.kind, 'hello');
      for (let n = 1; n < hello.length; n++) assert.deepEqual(parse(hello.subarray(0, n)), { kind: 'incomplete' }, `prefix of ${n} bytes`);
    }
  });

  test('mutated ClientHellos: no throw, a clean name, and more bytes never change a decision', { timeout: 60_000 }, () => {
    fc.assert(
      fc.property(mutationsOf(...hellos), fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes, more) => {
        const r = parse(bytes);
        assertCleanResult(r);
        if (r.kind !== 'incomplete') assert.deepEqual(parse(Buffer.concat([bytes, more])), r);
      }),
      fuzzRuns(2000),
    );
  });

  test('arbitrary bytes, as a handshake record or not: no throw and a clean name', { timeout: 60_000 }, () => {
    const record = fc
      .tuple(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xffff }))
      .map(([body, len]) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, len >> 8, len & 0xff, 0x01]), body]));
    fc.assert(
      fc.property(fc.oneof(record, fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b))), (bytes) => assertCleanResult(parse(bytes))),
      fuzzRuns(2000),
    );
  });
});
