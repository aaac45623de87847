import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestAuthenticationSpecSchema, checkRequestAuthentication } from '../config/kinds/request-authentication.js';

function issues(spec: unknown): string[] {
  const parsed = RequestAuthenticationSpecSchema.safeParse(spec);
  if (!parsed.success) return parsed.error.issues.map((i) => `schema: ${i.path.join('.')}: ${i.message}`);
  return checkRequestAuthentication(parsed.data).map((i) => `${i.path.join('.')}: ${i.message}`);
}

const JWKS = JSON.stringify({ keys: [{ kty: 'RSA', e: 'AQAB', n: 'xyz', kid: 'a' }] });

// Rows follow istio/istio pkg/config/validation validateJwtRule and reqauth-valid/-invalid testdata.
describe('checkRequestAuthentication', () => {
  const valid: Array<[string, unknown]> = [
    ['issuer with jwks', { jwtRules: [{ issuer: 'https://i', jwks: JWKS }] }],
    ['jwksUri only', { jwtRules: [{ jwksUri: 'https://i/jwks' }] }],
    ['all locations and outputs', { selector: { matchLabels: { app: 'a' } }, jwtRules: [{ issuer: 'i', jwks: JWKS, audiences: ['a'], fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }], fromParams: ['t'], fromCookies: ['c'], outputPayloadToHeader: 'x-payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], forwardOriginalToken: true, timeout: '5s' }] }],
  ];
  const invalid: Array<[string, unknown, RegExp]> = [
    ['unknown field', { jwtRules: [{ issuer: 'i', jwksURI: 'x' }] }, /schema/],
    ['no issuer and no jwksUri', { jwtRules: [{ jwks: JWKS }] }, /issuer or jwksUri/],
    ['jwks and jwksUri', { jwtRules: [{ issuer: 'i', jwks: JWKS, jwksUri: 'https://i/jwks' }] }, /only one of jwks or jwksUri/],
    ['bad jwks', { jwtRules: [{ issuer: 'i', jwks: '{not json' }] }, /jwks parse error/],
    ['jwksUri scheme', { jwtRules: [{ issuer: 'i', jwksUri: 'ftp://i/jwks' }] }, /scheme/],
    ['empty audience', { jwtRules: [{ issuer: 'i', audiences: [''] }] }, /audience must be non-empty/],
    ['empty header name', { jwtRules: [{ issuer: 'i', fromHeaders: [{ name: '' }] }] }, /header name must be non-empty/],
    ['empty param', { jwtRules: [{ issuer: 'i', fromParams: [''] }] }, /query must be non-empty/],
    ['bad claim header', { jwtRules: [{ issuer: 'i', outputClaimToHeaders: [{ header: 'bad header', claim: 'sub' }] }] }, /invalid header name/],
    ['bad timeout', { jwtRules: [{ issuer: 'i', timeout: 'soon' }] }, /invalid duration/],
    ['selector and targetRef', { selector: { matchLabels: { a: 'b' } }, targetRef: { kind: 'Gateway', name: 'g' } }, /only one of/],
  ];
  for (const [name, spec] of valid) test(`valid: ${name}`, () => assert.deepEqual(issues(spec), []));
  for (const [name, spec, want] of invalid) {
    test(`invalid: ${name}`, () => {
      const got = issues(spec);
      assert.ok(got.some((m) => want.test(m)), `expected ${String(want)} in ${JSON.stringify(got)}`);
    });
  }
});
