import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestAuthenticationSpec } from '../../config/kinds/request-authentication.js';
import { DEFAULT_JWKS_TIMEOUT_MS, jwksFetchTimeoutMs } from './jwks-timeout.js';

const URI = 'https://issuer.example.com/jwks';
const snap = (...rules: RequestAuthenticationSpec['jwtRules'][]): Parameters<typeof jwksFetchTimeoutMs>[0] => ({
  requestAuthentications: rules.map((jwtRules, i) => ({ namespace: 'default', name: `ra-${i}`, spec: { jwtRules } })) as never,
});

/** Istio's JWTRule.timeout: how long to wait before aborting the JWKS fetch, 5 s by default. */
const cases: { name: string; snap: Parameters<typeof jwksFetchTimeoutMs>[0]; want: number }[] = [
  { name: 'no rule sets one: Istio default', snap: snap([{ issuer: 'a', jwksUri: URI }]), want: DEFAULT_JWKS_TIMEOUT_MS },
  { name: 'the rule naming the URI', snap: snap([{ issuer: 'a', jwksUri: URI, timeout: '1.5s' }]), want: 1_500 },
  { name: 'another URI does not count', snap: snap([{ issuer: 'a', jwksUri: 'https://other.example.com/jwks', timeout: '30s' }]), want: DEFAULT_JWKS_TIMEOUT_MS },
  { name: 'inline jwks is never fetched', snap: snap([{ issuer: 'a', jwksUri: URI, jwks: '{"keys":[]}', timeout: '30s' }]), want: DEFAULT_JWKS_TIMEOUT_MS },
  { name: 'several rules: the longest', snap: snap([{ issuer: 'a', jwksUri: URI, timeout: '2s' }], [{ issuer: 'b', jwksUri: URI, timeout: '1m' }]), want: 60_000 },
  { name: 'zero is not "forever"', snap: snap([{ issuer: 'a', jwksUri: URI, timeout: '0s' }]), want: DEFAULT_JWKS_TIMEOUT_MS },
];

test('JWKS fetch timeout from RequestAuthentication jwtRules[].timeout', () => {
  for (const c of cases) assert.equal(jwksFetchTimeoutMs(c.snap, URI), c.want, c.name);
});
