import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JWK, JWTPayload } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { JwtRuleSpec } from '../config/kinds/request-authentication.js';
import type { AuthnResult } from './jwt-rules.js';
import { compileJwtRules } from './jwt-rules.js';

const NOW = Date.UTC(2030, 0, 1);
const clock = () => NOW;
const nowSec = Math.floor(NOW / 1000);
const ISS = 'https://issuer.example';
const ISS2 = 'https://other.example';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
interface Signer {
  key: Key;
  jwk: JWK;
  alg: string;
}

async function signer(alg: 'RS256' | 'ES256', kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { key: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, alg };
}

async function token(s: Signer, claims: JWTPayload, kid = s.jwk.kid): Promise<string> {
  return new SignJWT({ iat: nowSec, exp: nowSec + 600, ...claims }).setProtectedHeader({ alg: s.alg, ...(kid ? { kid } : {}) }).sign(s.key);
}

const jwks = (...keys: JWK[]): string => JSON.stringify({ keys });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function invalid(r: AuthnResult): string {
  assert.equal(r.outcome, 'invalid', JSON.stringify(r));
  return (r as { reason: string }).reason;
}
function ok(r: AuthnResult): Extract<AuthnResult, { outcome: 'ok' }> {
  assert.equal(r.outcome, 'ok', JSON.stringify(r));
  return r as Extract<AuthnResult, { outcome: 'ok' }>;
}

describe('RequestAuthentication jwtRules (security/authentication/authn-policy task, request-authentication reference)', () => {
  let rsa: Signer;
  let ec: Signer;
  let impostor: Signer;
  let rules: JwtRuleSpec[];
  before(async () => {
    rsa = await signer('RS256', 'rsa-1');
    ec = await signer('ES256', 'ec-1');
    impostor = await signer('RS256', 'rsa-1'); // same kid, different key
    rules = [
      { issuer: ISS, jwks: jwks(rsa.jwk), audiences: ['api', 'web'] },
      { issuer: ISS2, jwks: jwks(ec.jwk) },
    ];
  });

  test('no token: passes without a principal', async () => {
    assert.deepEqual(await compileJwtRules(rules, { clock }).authenticate({}, ''), { outcome: 'none' });
  });
  test('a header without the Bearer prefix holds no token', async () => {
    assert.deepEqual(await compileJwtRules(rules, { clock }).authenticate({ authorization: 'Basic abc' }, ''), { outcome: 'none' });
  });
  test('valid RS256: principal iss/sub, claims, audiences, presenter; token removed', async () => {
    const t = await token(rsa, { iss: ISS, sub: 'alice', aud: 'api', azp: 'web-app', groups: ['admin'] });
    const r = ok(await compileJwtRules(rules, { clock }).authenticate(bearer(t), ''));
    assert.equal(r.principal, `${ISS}/alice`);
    assert.deepEqual(r.audiences, ['api']);
    assert.equal(r.presenter, 'web-app');
    assert.deepEqual(r.claims.groups, ['admin']);
    assert.deepEqual(r.headersToRemove, ['authorization']);
  });
  test('valid ES256 from a second issuer (multiple rules)', async () => {
    const t = await token(ec, { iss: ISS2, sub: 'bob' });
    assert.equal(ok(await compileJwtRules(rules, { clock }).authenticate(bearer(t), '')).principal, `${ISS2}/bob`);
  });
  test('forwardOriginalToken keeps the token', async () => {
    const t = await token(rsa, { iss: ISS, sub: 'alice', aud: 'api' });
    const r = ok(await compileJwtRules([{ ...rules[0]!, forwardOriginalToken: true }], { clock }).authenticate(bearer(t), ''));
    assert.deepEqual(r.headersToRemove, []);
  });
  test('default access_token query parameter', async () => {
    const t = await token(rsa, { iss: ISS, sub: 'alice', aud: 'web' });
    const r = ok(await compileJwtRules(rules, { clock }).authenticate({}, `?access_token=${t}`));
    assert.equal(r.principal, `${ISS}/alice`);
    assert.deepEqual(r.headersToRemove, []);
  });
  test('fromHeaders with a prefix replaces the default locations', async () => {
    const t = await token(rsa, { iss: ISS, sub: 'alice', aud: 'api' });
    const v = compileJwtRules([{ ...rules[0]!, fromHeaders: [{ name: 'X-Jwt-Assertion', prefix: 'Token ' }] }], { clock });
    assert.equal(ok(await v.authenticate({ 'x-jwt-assertion': `Token ${t}` }, '')).principal, `${ISS}/alice`);
    assert.deepEqual(await v.authenticate(bearer(t), ''), { outcome: 'none' });
  });
  test('fromParams and fromCookies', async () => {
    const t = await token(rsa, { iss: ISS, sub: 'alice', aud: 'api' });
    const v = compileJwtRules([{ ...rules[0]!, fromParams: ['my_token'], fromCookies: ['session'] }], { clock });
    ok(await v.authenticate({}, `my_token=${t}`));
    ok(await v.authenticate({ cookie: `a=b; session=${t}` }, ''));
  });
  test('outputPayloadToHeader and outputClaimToHeaders', async () => {
    const t = await token(rsa, { iss: ISS, sub: 'alice', aud: 'api', org: { id: 7 } });
    const v = compileJwtRules([{ ...rules[0]!, outputPayloadToHeader: 'X-Jwt-Payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }, { header: 'x-org', claim: 'org.id' }] }], { clock });
    const r = ok(await v.authenticate(bearer(t), ''));
    assert.equal(r.headersToSet['x-sub'], 'alice');
    assert.equal(r.headersToSet['x-org'], '7');
    assert.equal(JSON.parse(Buffer.from(r.headersToSet['x-jwt-payload']!, 'base64url').toString()).sub, 'alice');
  });

  // Every invalid token is a 401 (outcome invalid).
  const INVALID: Array<[string, () => Promise<string>, RegExp]> = [
    ['bad signature', () => token(impostor, { iss: ISS, sub: 'a', aud: 'api' }), /verification fails/],
    ['issuer not configured', () => token(rsa, { iss: 'https://evil.example', sub: 'a', aud: 'api' }), /issuer is not configured/],
    ['audience not allowed', () => token(rsa, { iss: ISS, sub: 'a', aud: 'other' }), /Audiences/],
    ['expired beyond the 60 s skew', () => token(rsa, { iss: ISS, sub: 'a', aud: 'api', exp: nowSec - 120 }), /expired/],
    ['not yet valid beyond the skew', () => token(rsa, { iss: ISS, sub: 'a', aud: 'api', nbf: nowSec + 120 }), /not yet valid/],
    ['unknown kid', () => token(rsa, { iss: ISS, sub: 'a', aud: 'api' }, 'rsa-unknown'), /kid/],
    ['key of another issuer', () => token(ec, { iss: ISS, sub: 'a', aud: 'api' }), /kid|verification/],
    ['malformed', () => Promise.resolve('not-a-jwt'), /form of Header.Payload.Signature/],
    [
      'alg none',
      () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return Promise.resolve(`${enc({ alg: 'none', typ: 'JWT' })}.${enc({ iss: ISS, sub: 'a', aud: 'api', exp: nowSec + 60 })}.`);
      },
      /.+/,
    ],
  ];
  for (const [name, make, reason] of INVALID) {
    test(`invalid: ${name}`, async () => {
      assert.match(invalid(await compileJwtRules(rules, { clock }).authenticate(bearer(await make()), '')), reason);
    });
  }
  test('expired within the skew still passes', async () => {
    ok(await compileJwtRules(rules, { clock }).authenticate(bearer(await token(rsa, { iss: ISS, sub: 'a', aud: 'api', exp: nowSec - 30 })), ''));
  });
  test('an invalid token anywhere fails the request even beside a valid one', async () => {
    const good = await token(rsa, { iss: ISS, sub: 'a', aud: 'api' });
    invalid(await compileJwtRules(rules, { clock }).authenticate(bearer(good), 'access_token=garbage.x.y'));
  });
  test('JWKS rotation: a new kid verifies once the rule carries the new key', async () => {
    const next = await signer('RS256', 'rsa-2');
    const t = await token(next, { iss: ISS, sub: 'alice', aud: 'api' });
    invalid(await compileJwtRules(rules, { clock }).authenticate(bearer(t), ''));
    const rotated = compileJwtRules([{ ...rules[0]!, jwks: jwks(rsa.jwk, next.jwk) }], { clock });
    ok(await rotated.authenticate(bearer(t), ''));
    ok(await rotated.authenticate(bearer(await token(rsa, { iss: ISS, sub: 'a', aud: 'api' })), ''));
    const retired = compileJwtRules([{ ...rules[0]!, jwks: jwks(next.jwk) }], { clock });
    invalid(await retired.authenticate(bearer(await token(rsa, { iss: ISS, sub: 'a', aud: 'api' })), ''));
  });
  test('jwksUri rules use the JWKS the caller resolved', async () => {
    const v = compileJwtRules([{ issuer: ISS, jwksUri: 'https://issuer.example/jwks' }], { clock, resolveJwksUri: () => ({ keys: [rsa.jwk] }) });
    ok(await v.authenticate(bearer(await token(rsa, { iss: ISS, sub: 'a' })), ''));
  });
  // Found by jwt-rules.fuzz.test.ts: a signed `aud: 0` was accepted and handed on as the audiences. Envoy's JWT
  // parser (jwt_verify_lib) refuses registered claims of the wrong JSON type before verifying, with these reasons.
  const wrongTypes: Array<[string, JWTPayload, string]> = [
    ['aud a number', { aud: 0 as unknown as string }, 'Jwt payload [aud] field is not a string or string list'],
    ['aud a list with a number', { aud: ['api', 1] as unknown as string[] }, 'Jwt payload [aud] field is not a string or string list'],
    ['sub an object', { sub: {} as unknown as string }, 'Jwt payload [sub] field is not a string'],
    ['jti a number', { jti: 7 as unknown as string }, 'Jwt payload [jti] field is not a string'],
    ['exp a string', { exp: 'soon' as unknown as number }, 'Jwt payload [exp] field is not an integer'],
  ];
  for (const [what, claims, reason] of wrongTypes) {
    test(`a signed token with ${what} is refused: ${reason}`, async () => {
      const t = await token(ec, { iss: ISS2, sub: 'a', ...claims });
      assert.equal(invalid(await compileJwtRules(rules, { clock }).authenticate(bearer(t), '')), reason);
    });
  }
});
