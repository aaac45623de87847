import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, tryParseDuration } from './duration.js';
import { isWeftError } from '../errors.js';

const valid: [string, number][] = [
  ['0', 0],
  ['1h', 3_600_000],
  ['30m', 1_800_000],
  ['90s', 90_000],
  ['1.5h', 5_400_000],
  ['1.5s', 1500],
  ['100ms', 100],
  ['1h30m', 5_400_000],
  ['2m3s', 123_000],
  ['.5s', 500],
  ['5.s', 5000],
  ['250us', 0.25],
  ['250µs', 0.25],
  ['1000000ns', 1],
];

for (const [text, ms] of valid) {
  test(`duration ${JSON.stringify(text)} is ${ms}ms`, () => {
    assert.equal(parseDuration(text), ms);
  });
}

const invalid = ['', '10', '1d', '-1s', '+1s', '1 s', 's', '1h 30m', 'ten seconds', '1.2.3s', '1S', '0s0', '.s'];
for (const text of invalid) {
  test(`duration ${JSON.stringify(text)} is rejected`, () => {
    assert.equal(tryParseDuration(text), undefined);
    assert.throws(() => parseDuration(text), (err) => isWeftError(err, 'CONFIG_INVALID'));
  });
}
