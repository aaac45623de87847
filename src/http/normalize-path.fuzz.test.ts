/**
 * Property-based fuzzing (fast-check) of path normalisation: for every mode it never throws, it is idempotent (the
 * path a gateway matched is the path the next sidecar matches after normalising again), and what it returns has no
 * dot-segments, no backslashes, no merged-away slashes and no escaped slashes left to reinterpret.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzRuns, textMutationsOf, withinTime } from '../../test/support/fuzz.js';
import { normalizePath, pathWithoutQuery } from './normalize-path.js';
import type { PathNormalization } from './normalize-path.js';

const MODES: PathNormalization[] = ['BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

// Paths built from the characters normalisation cares about, so that escapes and dot-segments are frequent.
const piece = fc.constantFrom('/', '//', '.', '..', '/./', '/../', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%25', '%', '%0', '%00',
  '%41', '%7e', '\\', '?', '#', 'a', 'B', '~', '-', ';', '%3f', '%23');
const path = fc.oneof(
  fc.array(piece, { maxLength: 16 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  textMutationsOf('/a/b/../c', '/api/v1/%2e%2e/admin', '//x/./y?q=/../z#f', '/a%2Fb%5cc/..'),
);

describe('normalizePath (fuzz)', () => {
  for (const mode of MODES) {
    test(`${mode}: never throws, idempotent, and leaves nothing to reinterpret`, () => {
      fc.assert(
        fc.property(path, (raw) => {
          const once = withinTime(() => normalizePath(raw, mode));
          if ('reject' in once) {
            assert.equal(once.reject, 400);
            return;
          }
          assert.deepEqual(normalizePath(once.path, mode), once, `not idempotent for ${JSON.stringify(raw)}`);
          const p = pathWithoutQuery(once.path);
          assert.ok(p.startsWith('/'), p);
          assert.ok(!p.includes('\\') && !p.includes('#'), p);
          assert.ok(!p.split('/').some((s) => s === '.' || s === '..'), `dot-segment left in ${p}`);
          if (mode !== 'BASE') assert.ok(!p.includes('//'), p);
          if (mode === 'DECODE_AND_MERGE_SLASHES') assert.doesNotMatch(p, /%2f|%5c/i);
        }),
        fuzzRuns(3000),
      );
    });
  }

  test('NONE returns the path untouched', () => {
    fc.assert(fc.property(path, (raw) => assert.deepEqual(normalizePath(raw, 'NONE'), { path: raw })), fuzzRuns(200));
  });
});
