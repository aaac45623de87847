import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../errors.js';
import {
  formatSpiffeId,
  parseSpiffeId,
  parseWorkloadIdentity,
  validateTrustDomain,
  workloadSpiffeId,
} from './spiffe-id.js';

// Valid IDs from the SPIFFE-ID standard (sections 2.1, 2.2) and go-spiffe's spiffeid tests.
const VALID: Array<[string, string, string]> = [
  ['spiffe://example.org', 'example.org', ''],
  ['spiffe://trust-domain-name/path', 'trust-domain-name', '/path'],
  ['spiffe://staging.example.com/payments/mysql', 'staging.example.com', '/payments/mysql'],
  ['spiffe://k8s-west.example.com/ns/staging/sa/default', 'k8s-west.example.com', '/ns/staging/sa/default'],
  ['spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453', 'example.com', '/9eebccd2-12bf-40a6-b262-65fe0487d453'],
  ['spiffe://domain.test/path/element', 'domain.test', '/path/element'],
  ['spiffe://td_with_underscore/Path.With-All_Chars09', 'td_with_underscore', '/Path.With-All_Chars09'],
  ['spiffe://1.2.3.4/a', '1.2.3.4', '/a'],
  ['spiffe://domain.test/..a/.b./...', 'domain.test', '/..a/.b./...'],
];

// [input, words the message must contain]
const INVALID: Array<[string, string]> = [
  ['', 'empty'],
  ['192.168.2.2:6688', 'scheme must be "spiffe"'],
  ['http://domain.test/path/element', 'scheme must be "spiffe"'],
  ['SPIFFE://domain.test/path/element', 'lowercase "spiffe"'],
  ['Spiffe://domain.test/path', 'lowercase "spiffe"'],
  ['domain.test/path', 'scheme is missing'],
  ['spiffe:path/element', 'trust domain is missing'],
  ['spiffe:/path/element', 'trust domain is missing'],
  ['spiffe://', 'trust domain is empty'],
  ['spiffe:///path/element', 'trust domain is empty'],
  ['spiffe://Domain.test/path', 'trust domain must be lowercase'],
  ['spiffe://domain.test:8080/path/element', 'port'],
  ['spiffe://domain.test:/path/element', 'port'],
  ['spiffe://user:password@test.org/path/element', 'user info'],
  ['spiffe://user@test.org/path/element', 'user info'],
  ['spiffe://dom%41in.test/path', 'percent-encoding'],
  ['spiffe://domain$.test/path', 'trust domain contains "$"'],
  ['spiffe://domain.test/path/element?query=1', 'query'],
  ['spiffe://domain.test/path/element#fragment-1', 'fragment'],
  ['spiffe://domain.test/path/element?#fragment-1', 'query'],
  ['spiffe://domain.test/', 'trailing "/"'],
  ['spiffe://domain.test/path/', 'trailing "/"'],
  ['spiffe://domain.test//path', 'empty path segment'],
  ['spiffe://domain.test/path//element', 'empty path segment'],
  ['spiffe://domain.test/./path', 'relative path segment "."'],
  ['spiffe://domain.test/path/..', 'relative path segment ".."'],
  ['spiffe://domain.test/pa%20th', 'percent-encoding'],
  ['spiffe://domain.test/pa:th', 'path segment contains ":"'],
  ['spiffe://domain.test/pa@th', 'path segment contains "@"'],
  ['spiffe://domain.test/p!a$t&h', 'path segment contains "!"'],
  ['spiffe://domain.test/elem[ent', 'path segment contains "["'],
  ['spiffe://domain.test/spiffe://domain.test/path', 'path segment contains ":"'],
  ['spiffe://domain.test/caf\u00e9', 'path segment contains "\u00e9"'],
  [`spiffe://${'a'.repeat(256)}/x`, 'longer than 255 bytes'],
  [`spiffe://domain.test/${'a'.repeat(2048)}`, 'longer than 2048 bytes'],
];

describe('parseSpiffeId', () => {
  for (const [input, trustDomain, path] of VALID) {
    test(`accepts ${input}`, () => {
      const id = parseSpiffeId(input);
      assert.equal(id.trustDomain, trustDomain);
      assert.equal(id.path, path);
      assert.equal(id.toString(), input);
      assert.equal(`${id}`, input);
    });
  }

  for (const [input, reason] of INVALID) {
    test(`refuses ${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}...` : input)}: ${reason}`, () => {
      assert.throws(
        () => parseSpiffeId(input),
        (err: unknown) => isWeftError(err, 'SPIFFE_ID_INVALID') && err.message.includes(reason),
      );
    });
  }

  test('accepts exactly 2048 bytes and refuses 2049', () => {
    const prefix = 'spiffe://domain.test/';
    const at = (n: number): string => prefix + 'a'.repeat(n - prefix.length);
    assert.equal(parseSpiffeId(at(2048)).toString().length, 2048);
    assert.throws(() => parseSpiffeId(at(2049)), (err: unknown) => isWeftError(err, 'SPIFFE_ID_INVALID'));
  });

  test('misuse with a non-string is a TypeError', () => {
    assert.throws(() => parseSpiffeId(42 as unknown as string), TypeError);
  });
});

describe('validateTrustDomain', () => {
  test('accepts the spec alphabet', () => validateTrustDomain('a-b_c.d0'));
  for (const bad of ['', 'Example.org', 'example.org:443', 'ex ample', 'exämple.org']) {
    test(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => validateTrustDomain(bad), (err: unknown) => isWeftError(err, 'SPIFFE_ID_INVALID'));
    });
  }
});

describe('workload identities', () => {
  test('formats and parses the Istio form', () => {
    const id = workloadSpiffeId('cluster.local', 'bookinfo', 'bookinfo-productpage');
    assert.equal(id, 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage');
    assert.deepEqual(parseWorkloadIdentity(id), {
      trustDomain: 'cluster.local',
      namespace: 'bookinfo',
      serviceAccount: 'bookinfo-productpage',
    });
    assert.deepEqual(parseWorkloadIdentity(parseSpiffeId(id)).namespace, 'bookinfo');
  });

  test('formatSpiffeId validates every segment', () => {
    assert.equal(formatSpiffeId('example.org'), 'spiffe://example.org');
    assert.throws(() => formatSpiffeId('example.org', 'a/b'), (err: unknown) => isWeftError(err, 'SPIFFE_ID_INVALID'));
    assert.throws(() => workloadSpiffeId('cluster.local', '', 'sa'), /empty path segment/);
    assert.throws(() => workloadSpiffeId('cluster.local', 'ns', '..'), /relative path segment/);
    assert.throws(() => workloadSpiffeId('Cluster.local', 'ns', 'sa'), /lowercase/);
  });

  for (const other of [
    'spiffe://cluster.local',
    'spiffe://cluster.local/ns/default',
    'spiffe://cluster.local/ns/default/sa',
    'spiffe://cluster.local/sa/x/ns/default',
    'spiffe://cluster.local/ns/default/sa/web/extra',
    'spiffe://cluster.local/payments/mysql',
  ]) {
    test(`parseWorkloadIdentity refuses ${other}`, () => {
      assert.throws(() => parseWorkloadIdentity(other), /not a workload identity/);
    });
  }
});
