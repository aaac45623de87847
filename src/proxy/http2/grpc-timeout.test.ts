/** grpc-timeout as gRPC's PROTOCOL-HTTP2 defines it: up to 8 digits and a unit; anything else is no deadline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcTimeoutMs } from './grpc-timeout.js';

const rows: Array<[string | undefined, number | undefined]> = [
  ['1H', 3_600_000],
  ['2M', 120_000],
  ['5S', 5000],
  ['250m', 250],
  ['1500u', 2],
  ['1n', 1],
  ['0m', 0],
  ['99999999S', 99_999_999_000],
  ['123456789S', undefined],
  ['10', undefined],
  ['S', undefined],
  ['-1S', undefined],
  ['1.5S', undefined],
  ['10s', undefined],
  ['', undefined],
  [undefined, undefined],
];

for (const [value, ms] of rows) {
  test(`grpc-timeout ${JSON.stringify(value)} → ${String(ms)}`, () => assert.equal(grpcTimeoutMs(value), ms));
}
