/**
 * Property-based fuzzing (fast-check) of SPIFFE ID parsing: a valid ID round-trips exactly; any other text, and
 * mutations of valid IDs, are either SPIFFE_ID_INVALID or accepted exactly as written.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, textMutationsOf, withinTime } from '../../test/support/fuzz.js';
import { isWeftError } from '../errors.js';
import { MAX_SPIFFE_ID_BYTES, formatSpiffeId, parseSpiffeId, parseWorkloadIdentity, workloadSpiffeId } from './spiffe-id.js';

const chars = (alphabet: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength: min, maxLength: max });
const trustDomain = chars('abcdefghijklmnopqrstuvwxyz0123456789._-', 1, 40);
const segment = chars('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-', 1, 20).filter((s) => s !== '.' && s !== '..');
const ACCEPTED = /^spiffe:\/\/[a-z0-9._-]+(\/[a-zA-Z0-9._-]+)*$/;

/** Parses `input`; asserts it is refused with SPIFFE_ID_INVALID or accepted exactly as written. */
function parsedExactlyOrRefused(input: string): void {
  let id: ReturnType<typeof parseSpiffeId>;
  try {
    id = withinTime(() => parseSpiffeId(input));
  } catch (err) {
    assert.ok(isWeftError(err, 'SPIFFE_ID_INVALID'), String(err));
    return;
  }
  assert.equal(id.toString(), input);
  assert.match(input, ACCEPTED);
  assert.ok(Buffer.byteLength(input) <= MAX_SPIFFE_ID_BYTES);
  assert.ok(!id.path.split('/').some((s) => s === '.' || s === '..'));
  assert.equal(parseSpiffeId(id.toString()).toString(), input);
}

describe('SPIFFE IDs (fuzz)', () => {
  test('a valid ID round-trips exactly through format and parse', () => {
    fc.assert(
      fc.property(trustDomain, fc.array(segment, { maxLength: 6 }), (td, segments) => {
        const text = formatSpiffeId(td, ...segments);
        const id = parseSpiffeId(text);
        assert.equal(id.trustDomain, td);
        assert.equal(id.path, segments.map((s) => `/${s}`).join(''));
        assert.equal(id.toString(), text);
      }),
      fuzzRuns(1000),
    );
  });

  test('a workload identity round-trips', () => {
    fc.assert(
      fc.property(trustDomain, segment, segment, (td, ns, sa) => {
        assert.deepEqual(parseWorkloadIdentity(workloadSpiffeId(td, ns, sa)), { trustDomain: td, namespace: ns, serviceAccount: sa });
      }),
      fuzzRuns(500),
    );
  });

  test('mutations of valid IDs: refused with a code or accepted exactly as written', () => {
    const valid = ['spiffe://cluster.local/ns/default/sa/web', 'spiffe://example.org', 'spiffe://td_with_underscore/Path.With-All_Chars09'];
    fc.assert(fc.property(textMutationsOf(...valid), parsedExactlyOrRefused), fuzzRuns(2000));
  });

  test('arbitrary text after the scheme: refused with a code or accepted exactly as written', () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), chars('spiffe:/.%?#@A-z0 \u0130\u212a', 0, 40));
    fc.assert(fc.property(fc.constantFrom('', 'spiffe://', 'spiffe://td/'), text, (prefix, rest) => parsedExactlyOrRefused(prefix + rest)), fuzzRuns(2000));
  });

  test('an ID over the length limit is refused, never read', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_SPIFFE_ID_BYTES - 20, max: MAX_SPIFFE_ID_BYTES + 20 }), (n) => {
        const input = `spiffe://td/${'a'.repeat(n - 'spiffe://td/'.length)}`;
        parsedExactlyOrRefused(input);
        if (Buffer.byteLength(input) > MAX_SPIFFE_ID_BYTES) assert.throws(() => parseSpiffeId(input), (err) => isWeftError(err, 'SPIFFE_ID_INVALID'));
      }),
      fuzzRuns(100),
    );
  });
});
