/**
 * A demo identity provider for the JWT example: it makes an ES256 key at start, publishes it at /jwks.json, and
 * mints tokens at /token (sub, aud and groups from the query) so that the example and its tests need no outside
 * issuer. POST /rotate replaces the key (a new kid), which is how key rotation is exercised. For demos only.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { sendJson, sendText, servePod } from '../pod-server.js';

export const ISSUER = 'https://jwt-issuer.weft.example';

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

let key = await newKey();

await servePod(
  async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://jwt-issuer');
    if (req.method === 'GET' && url.pathname === '/jwks.json') {
      sendJson(res, 200, { keys: [key.publicJwk] });
    } else if (req.method === 'GET' && url.pathname === '/token') {
      const claims: Record<string, unknown> = {};
      const groups = url.searchParams.getAll('groups');
      if (groups.length > 0) claims['groups'] = groups;
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .setIssuer(ISSUER)
        .setSubject(url.searchParams.get('sub') ?? 'alice')
        .setAudience(url.searchParams.get('aud') ?? 'httpbin')
        .setIssuedAt()
        .setExpirationTime(url.searchParams.get('exp') ?? '1h')
        .sign(key.privateKey);
      sendText(res, 200, token);
    } else if (req.method === 'POST' && url.pathname === '/rotate') {
      key = await newKey();
      sendJson(res, 200, { kid: key.kid });
    } else {
      sendJson(res, 404, { error: 'not found' });
    }
  },
  { app: 'jwt-issuer', defaultPort: 8000 },
);
