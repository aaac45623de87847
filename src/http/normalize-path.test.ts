import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PathNormalization } from './normalize-path.js';
import { normalizePath, pathWithoutQuery } from './normalize-path.js';

type Out = string | 400;
// [raw, NONE, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES]
// Sources: Istio "Authorization policy normalization" (docs/reference/config/security/normalization) and
// envoyproxy/envoy test/common/http/path_utility_test.cc (NormalizeValidPaths, NormalizeCasePath,
// InvalidPaths, MergeSlashes); escaped slashes are decoded before canonicalisation as Envoy's HCM does.
const ROWS: Array<[string, Out, Out, Out, Out]> = [
  ['/public/../admin', '/public/../admin', '/admin', '/admin', '/admin'],
  ['//admin', '//admin', '//admin', '/admin', '/admin'],
  ['/admin%2F..', '/admin%2F..', '/admin%2F..', '/admin%2F..', '/'],
  ['/public%2fadmin', '/public%2fadmin', '/public%2fadmin', '/public%2fadmin', '/public/admin'],
  ['/public/%2e%2e/admin', '/public/%2e%2e/admin', '/admin', '/admin', '/admin'],
  ['/a/b/%2E%2E/c', '/a/b/%2E%2E/c', '/a/c', '/a/c', '/a/c'],
  ['/a/b/%2E./c', '/a/b/%2E./c', '/a/c', '/a/c', '/a/c'],
  ['/public\\..\\admin', '/public\\..\\admin', '/admin', '/admin', '/admin'],
  ['/a/..\\c', '/a/..\\c', '/c', '/c', '/c'],
  ['/public%5C..%5Cadmin', '/public%5C..%5Cadmin', '/public%5C..%5Cadmin', '/public%5C..%5Cadmin', '/admin'],
  ['/%5c%25', '/%5c%25', '/%5c%25', '/%5c%25', '/%25'],
  ['/ADMIN', '/ADMIN', '/ADMIN', '/ADMIN', '/ADMIN'],
  ['/A/B/C', '/A/B/C', '/A/B/C', '/A/B/C', '/A/B/C'],
  ['/./admin', '/./admin', '/admin', '/admin', '/admin'],
  ['/a/./b', '/a/./b', '/a/b', '/a/b', '/a/b'],
  ['/a/b/..', '/a/b/..', '/a/', '/a/', '/a/'],
  ['/a/b/.', '/a/b/.', '/a/b/', '/a/b/', '/a/b/'],
  ['/admin/..', '/admin/..', '/', '/', '/'],
  ['..', '..', '/', '/', '/'],
  ['/../a/b', '/../a/b', '/a/b', '/a/b', '/a/b'],
  ['/a/b/../../../../c', '/a/b/../../../../c', '/c', '/c', '/c'],
  ['a/b/../c', 'a/b/../c', '/a/c', '/a/c', '/a/c'],
  ['/a//b/../c', '/a//b/../c', '/a//c', '/a/c', '/a/c'],
  ['/a/%2F%2f/c', '/a/%2F%2f/c', '/a/%2F%2f/c', '/a/%2F%2f/c', '/a/c'],
  ['/%c0%af', '/%c0%af', '/%c0%af', '/%c0%af', '/%c0%af'],
  ['/%41dmin', '/%41dmin', '/Admin', '/Admin', '/Admin'],
  ['/x/.../y', '/x/.../y', '/x/.../y', '/x/.../y', '/x/.../y'],
  ['/xyz/.%00../abc', '/xyz/.%00../abc', 400, 400, 400],
  ['/xyz/AAAAA%%0000/abc', '/xyz/AAAAA%%0000/abc', 400, 400, 400],
  ['/a/../b?x=../y//z', '/a/../b?x=../y//z', '/b?x=../y//z', '/b?x=../y//z', '/b?x=../y//z'],
  ['//a//b?a=///c', '//a//b?a=///c', '//a//b?a=///c', '/a/b?a=///c', '/a/b?a=///c'],
];

const MODES: PathNormalization[] = ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'];

describe('normalizePath', () => {
  for (const row of ROWS) {
    const [raw, ...wants] = row;
    MODES.forEach((mode, i) => {
      const want = wants[i]!;
      test(`${mode} ${raw}`, () => {
        assert.deepEqual(normalizePath(raw, mode), want === 400 ? { reject: 400 } : { path: want });
      });
    });
  }
  test('pathWithoutQuery', () => {
    assert.equal(pathWithoutQuery('/a/b?c=d?e'), '/a/b');
    assert.equal(pathWithoutQuery('/a'), '/a');
  });
});
