/**
 * Property-based fuzzing of the push stream with fast-check: any text, cut into chunks anywhere, yields exactly its
 * lines; any bytes yield lines or a coded refusal, never another error. Config deltas: any two keyed lists, diffed
 * and merged, give the second exactly; a mutated delta line is merged or refused with a code, never another error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, textMutationsOf, withinTime } from '../../test/support/fuzz.js';
import { isWeftError } from '../errors.js';
import { LineDecoder } from './protocol.js';
import { applyConfigDelta, applyKeyedChange, keyedChangeJson, parseConfigDelta } from './config-delta.js';
import type { KeyedChange } from './config-delta.js';

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

describe('config deltas (fuzz)', () => {
  // Few distinct hosts, so that lists share, lose, gain, reorder and sometimes repeat keys.
  const item = fc.record({ host: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), port: fc.integer({ min: 1, max: 3 }) }).map((i) => ({ ...i }));
  const list = fc.array(item, { maxLength: 6 });
  const keyedJson = (l: Array<{ host: string }>) => l.map((i) => ({ key: i.host, json: JSON.stringify(i) }));

  test('any two service lists: the diff merged into the first gives the second, and equal lists diff to nothing', () => {
    fc.assert(
      fc.property(list, list, (before, after) => {
        const json = keyedChangeJson(keyedJson(before), keyedJson(after));
        if (json === undefined) {
          assert.deepEqual(after, before);
          return;
        }
        assert.deepEqual(applyKeyedChange(before, JSON.parse(json) as KeyedChange, 'host'), after);
        assert.equal(keyedChangeJson(keyedJson(after), keyedJson(after)), undefined);
      }),
      fuzzRuns(1000),
    );
  });

  const base = { version: 'v1', schema: 3, outbound: { services: [{ host: 'a', port: 1 }, { host: 'b', port: 1 }], externals: [{ source: 'ns/e' }], trafficPolicy: 'ALLOW_ANY' } };
  const valid = [
    { type: 'config-delta', base: 'v1', version: 'v2', outbound: { services: { set: [{ host: 'c', port: 2 }], remove: ['a'], order: ['b', 'c'] } } },
    { type: 'config-delta', base: 'v1', version: 'v3', sections: { security: { rootNamespace: 'x' } }, outbound: { trafficPolicy: 'REGISTRY_ONLY', externals: { all: [] } } },
    { type: 'config-delta', base: 'v1', version: 'v4', outbound: { services: { set: [{ host: 'b', port: 9 }] } } },
  ].map((d) => JSON.stringify(d));

  test('a mutated delta line is merged or refused with PUSH_FRAME_INVALID, never another error, and the base is untouched', () => {
    const frozen = JSON.stringify(base);
    fc.assert(
      fc.property(textMutationsOf(...valid), (line) => {
        let msg: unknown;
        try {
          msg = JSON.parse(line);
        } catch {
          return; // the line decoder's caller drops the stream on a line that is not JSON
        }
        withinTime(() => {
          try {
            const merged = applyConfigDelta(base, parseConfigDelta(msg));
            assert.equal(typeof merged, 'object');
          } catch (err) {
            assert.ok(isWeftError(err, 'PUSH_FRAME_INVALID'), String(err));
          }
        });
        assert.equal(JSON.stringify(base), frozen);
      }),
      fuzzRuns(1000),
    );
  });
});
