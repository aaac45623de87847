/**
 * Property-based fuzzing (fast-check) of JWT handling on what a client may send: mutations of a valid token, arbitrary
 * Authorization headers, query strings and cookies, and tokens the trusted issuer really signed carrying claims of
 * any JSON type. Authentication always settles (never throws); a mutated token is accepted only when its signed
 * part is untouched; an accepted token yields a principal and audiences of the types the rest of the proxy reads.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JWK, JWTPayload } from 'jose';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { fuzzRuns, textMutationsOf, withinTimeAsync } from '../../test/support/fuzz.js';
import type { AuthnResult, JwtVerifier } from './jwt-rules.js';
import { compileJwtRules } from './jwt-rules.js';

const NOW = Date.UTC(2030, 0, 1);
const nowSec = Math.floor(NOW / 1000);
const ISS = 'https://issuer.example';

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

function assertWellTyped(r: AuthnResult): void {
  if (r.outcome === 'invalid') assert.equal(typeof r.reason, 'string');
  if (r.outcome !== 'ok') return;
  assert.equal(typeof r.principal, 'string');
  assert.ok(Array.isArray(r.audiences) && r.audiences.every((a) => typeof a === 'string'), JSON.stringify(r.audiences));
  if (r.presenter !== undefined) assert.equal(typeof r.presenter, 'string');
  for (const v of Object.values(r.headersToSet)) assert.equal(typeof v, 'string');
}

describe('JWT handling (fuzz)', () => {
  let key: Key;
  let valid: string;
  let verifier: JwtVerifier;
  let verifierWithAudiences: JwtVerifier;
  const sign = (claims: JWTPayload): Promise<string> => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(key);

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwks = JSON.stringify({ keys: [jwk] });
    const clock = (): number => NOW;
    verifier = compileJwtRules([{ issuer: ISS, jwks, outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }, { header: 'x-deep', claim: 'a.b' }] }], { clock });
    verifierWithAudiences = compileJwtRules([{ issuer: ISS, jwks, audiences: ['api'], fromParams: ['token'], fromCookies: ['jwt'] }], { clock });
    valid = await sign({ iss: ISS, sub: 'alice', aud: 'api', iat: nowSec, exp: nowSec + 600 });
  });

  test('the valid token is accepted', async () => {
    const r = await verifier.authenticate({ authorization: `Bearer ${valid}` }, '');
    assert.equal(r.outcome, 'ok');
  });

  test('mutated tokens: always settles, and is accepted only with its signed part untouched', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(textMutationsOf(valid), async (token) => {
        const r = await withinTimeAsync(() => verifier.authenticate({ authorization: `Bearer ${token}` }, ''));
        assertWellTyped(r);
        if (r.outcome !== 'ok') return;
        const [h, p, s] = token.trim().split('.');
        const [vh, vp, vs] = valid.split('.');
        assert.equal(`${h}.${p}`, `${vh}.${vp}`);
        assert.deepEqual(Buffer.from(s ?? '', 'base64url'), Buffer.from(vs ?? '', 'base64url'));
      }),
      fuzzRuns(1500),
    );
  });

  test('arbitrary headers, query strings and cookies: always settles to a well-typed result', { timeout: 60_000 }, async () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), textMutationsOf(`Bearer ${'a'.repeat(10)}.${'b'.repeat(10)}.c`, `token=${'x.y.z'}&a=b`));
    await fc.assert(
      fc.asyncProperty(text, text, text, async (authorization, query, cookie) => {
        for (const v of [verifier, verifierWithAudiences]) {
          assertWellTyped(await withinTimeAsync(() => v.authenticate({ authorization, cookie }, query)));
        }
      }),
      fuzzRuns(500),
    );
  });

  test('tokens the issuer signed with claims of any JSON type: a well-typed result', { timeout: 60_000 }, async () => {
    const claim = fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(claim, claim, claim, claim, claim, async (sub, aud, azp, a, exp) => {
        const claims: Record<string, unknown> = { iss: ISS, sub, aud, azp, a, exp };
        for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
        const token = await sign(claims as JWTPayload);
        for (const v of [verifier, verifierWithAudiences]) {
          assertWellTyped(await withinTimeAsync(() => v.authenticate({ authorization: `Bearer ${token}` }, `token=${token}`)));
        }
      }),
      fuzzRuns(300),
    );
  });
});
