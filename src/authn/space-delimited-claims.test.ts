/**
 * RequestAuthentication jwtRules[].spaceDelimitedClaims (request-authentication reference): the listed claims, and
 * `scope` and `permission` always, are split on spaces before `request.auth.claims[...]` matches; other claims are
 * matched whole. The token is verified by the real verifier and judged by the real authorization engine.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JWK, JWTPayload } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { compileAuthorizationPolicies } from '../authz/index.js';
import type { JwtRuleSpec } from '../config/kinds/request-authentication.js';
import { JwtRuleSchema } from '../config/kinds/request-authentication.js';
import { compileJwtRules } from './jwt-rules.js';
import { splitSpaceDelimitedClaims } from './space-delimited-claims.js';

const NOW = Date.UTC(2030, 0, 1);
const ISS = 'https://issuer.example';

describe('splitSpaceDelimitedClaims', () => {
  test('listed string claims become lists; others, and non-strings, are untouched; the input is not changed', () => {
    const payload: JWTPayload = { scope: 'read  write', roles: 'admin', other: 'a b', groups: ['x y'], permission: 3 };
    const out = splitSpaceDelimitedClaims(payload, ['scope', 'permission', 'roles', 'groups']);
    assert.deepEqual(out, { scope: ['read', 'write'], roles: ['admin'], other: 'a b', groups: ['x y'], permission: 3 });
    assert.equal(payload.scope, 'read  write');
  });
});

describe('spaceDelimitedClaims through authentication and authorization', () => {
  let sign: (claims: JWTPayload) => Promise<string>;
  let jwk: JWK;
  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' };
    const iat = Math.floor(NOW / 1000);
    sign = (claims) => new SignJWT({ iss: ISS, sub: 'alice', iat, exp: iat + 600, ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey);
  });

  async function decide(rule: Partial<JwtRuleSpec>, claims: JWTPayload, key: string, value: string): Promise<string> {
    const verifier = compileJwtRules([{ issuer: ISS, jwks: JSON.stringify({ keys: [jwk] }), ...rule }], { clock: () => NOW });
    const r = await verifier.authenticate({ authorization: `Bearer ${await sign(claims)}` }, '');
    assert.equal(r.outcome, 'ok', JSON.stringify(r));
    if (r.outcome !== 'ok') return 'unauthenticated';
    const engine = compileAuthorizationPolicies([{ namespace: 'foo', name: 'p', spec: { rules: [{ when: [{ key, values: [value] }] }] } }], {
      rootNamespace: 'istio-system',
      workloadNamespace: 'foo',
      workloadLabels: {},
    });
    return engine.evaluate({
      connection: { sourceIp: '10.0.0.1', destinationIp: '10.0.0.2', destinationPort: 8000 },
      http: { method: 'GET', host: 'httpbin', path: '/', headers: {} },
      auth: { principal: r.principal, audiences: r.audiences, claims: r.claims },
    }).decision;
  }

  const CUSTOM = { spaceDelimitedClaims: ['custom_scope', 'provider.login.scope', 'roles'] };
  const rows: Array<[string, Partial<JwtRuleSpec>, JWTPayload, string, string, 'ALLOW' | 'DENY']> = [
    // the reference's example list: custom_scope, provider.login.scope, roles
    ['a listed claim matches one of its values', CUSTOM, { roles: 'viewer editor' }, 'request.auth.claims[roles]', 'editor', 'ALLOW'],
    ['a listed claim no longer matches the whole string', CUSTOM, { roles: 'viewer editor' }, 'request.auth.claims[roles]', 'viewer editor', 'DENY'],
    ['a dotted claim name is one top-level claim', CUSTOM, { 'provider.login.scope': 'openid email' }, 'request.auth.claims[provider.login.scope]', 'email', 'ALLOW'],
    ['custom_scope', CUSTOM, { custom_scope: 'a b c' }, 'request.auth.claims[custom_scope]', 'c', 'ALLOW'],
    ['unlisted: matched whole', {}, { roles: 'viewer editor' }, 'request.auth.claims[roles]', 'editor', 'DENY'],
    ['unlisted: the whole string matches', {}, { roles: 'viewer editor' }, 'request.auth.claims[roles]', 'viewer editor', 'ALLOW'],
    ['scope is always split', {}, { scope: 'read write' }, 'request.auth.claims[scope]', 'write', 'ALLOW'],
    ['permission is always split', {}, { permission: 'p1 p2' }, 'request.auth.claims[permission]', 'p2', 'ALLOW'],
    ['scope stays split when other claims are listed', CUSTOM, { scope: 'read write' }, 'request.auth.claims[scope]', 'read', 'ALLOW'],
    ['prefix match on a split value', CUSTOM, { roles: 'viewer admin-eu' }, 'request.auth.claims[roles]', 'admin-*', 'ALLOW'],
    ['a listed claim that is already a list is matched as a list', CUSTOM, { roles: ['viewer', 'editor'] }, 'request.auth.claims[roles]', 'editor', 'ALLOW'],
  ];
  for (const [name, rule, claims, key, value, want] of rows) {
    test(name, async () => assert.equal(await decide(rule, claims, key, value), want));
  }

  test('the claim is split only for authorization: outputClaimToHeaders carries it as signed', async () => {
    const verifier = compileJwtRules(
      [{ issuer: ISS, jwks: JSON.stringify({ keys: [jwk] }), spaceDelimitedClaims: ['roles'], outputClaimToHeaders: [{ header: 'x-roles', claim: 'roles' }] }],
      { clock: () => NOW },
    );
    const r = await verifier.authenticate({ authorization: `Bearer ${await sign({ roles: 'viewer editor' })}` }, '');
    assert.equal(r.outcome, 'ok');
    if (r.outcome === 'ok') assert.deepEqual([r.headersToSet['x-roles'], r.claims['roles']], ['viewer editor', ['viewer', 'editor']]);
  });
});

describe('spaceDelimitedClaims validation (Istio CRD: items minLength 1, maxItems 64)', () => {
  test('an empty claim name is refused', () => assert.equal(JwtRuleSchema.safeParse({ issuer: ISS, spaceDelimitedClaims: [''] }).success, false));
  test('65 names are refused, 64 accepted', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
    assert.deepEqual([JwtRuleSchema.safeParse({ spaceDelimitedClaims: names(65) }).success, JwtRuleSchema.safeParse({ spaceDelimitedClaims: names(64) }).success], [false, true]);
  });
});
