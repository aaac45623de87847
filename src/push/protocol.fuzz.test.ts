/**
 * Property-based fuzzing of the push stream's line framing with fast-check: any text, cut into chunks anywhere,
 * yields exactly its lines; any bytes yield lines or a coded refusal, never another error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns } from '../../test/support/fuzz.js';
import { isWeftError } from '../errors.js';
import { LineDecoder } from './protocol.js';

/** Cuts `bytes` at the given fractions of its length. */
function cut(bytes: Uint8Array, fractions: number[]): Uint8Array[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const fraction = fc.double({ min: 0, max: 1, noNaN: true });

describe('LineDecoder (fuzz)', () => {
  test('any Unicode lines, cut anywhere, come out exactly', () => {
    const line = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replaceAll('\n', ''));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.array(fraction, { maxLength: 12 }), (lines, fractions) => {
        const out: string[] = [];
        const decoder = new LineDecoder((l) => out.push(l), 1 << 20);
        for (const chunk of cut(Buffer.from(lines.map((l) => `${l}\n`).join('')), fractions)) decoder.push(chunk);
        assert.deepEqual(out, lines.filter((l) => l.trim() !== ''));
      }),
      fuzzRuns(500),
    );
  });

  test('arbitrary bytes give lines or PUSH_FRAME_INVALID, and never a line over the limit', () => {
    const limit = 64;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fraction, { maxLength: 12 }), (bytes, fractions) => {
        const decoder = new LineDecoder((l) => assert.ok(Buffer.byteLength(l) <= limit), limit);
        try {
          for (const chunk of cut(bytes, fractions)) decoder.push(chunk);
        } catch (err) {
          assert.ok(isWeftError(err, 'PUSH_FRAME_INVALID'), String(err));
        }
      }),
      fuzzRuns(500),
    );
  });
});
