import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isWeftError } from '../../errors.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { ApiCredentials, newCredentialKey } from './credentials.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-cred-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isWeftError(err, 'UNAUTHENTICATED'), String(err));
    assert.equal(err.status, 401);
    return err.message;
  }
  assert.fail('expected UNAUTHENTICATED');
}

test('credentials verify by secret, survive a reopen under the same key, fail under another, and rotate on reissue', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'store.db');
    const key = newCredentialKey();
    const store = openSqliteStore(file);
    const issuer = new ApiCredentials(store, key, () => 0);
    const admin = (await issuer.create({ name: 'admin', role: 'mesh-admin', namespaces: [] })).secret;
    const shop = await issuer.create({ name: 'shop-ci', role: 'editor', namespaces: ['shop', 'shop', 'cart'] });
    assert.match(admin, /^weft_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(shop.credential.bindings, [
      { role: 'editor', namespace: 'shop' },
      { role: 'editor', namespace: 'cart' },
    ]);
    await store.close();

    const reopened = openSqliteStore(file);
    const verifier = new ApiCredentials(reopened, key, () => 0);
    const idOf = (secret: string): string => secret.slice(5, 21);
    assert.deepEqual(await verifier.verify(admin), {
      name: 'admin',
      bindings: [{ role: 'mesh-admin', namespace: '*' }],
      credentialId: idOf(admin),
    });
    assert.deepEqual((await verifier.verify(shop.secret)).name, 'shop-ci');
    const refused = ['', 'weft_', admin.slice(0, -1), `${admin}x`, admin.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))];
    for (const secret of refused) assert.equal(await refusal(verifier.verify(secret)), 'the credential is not valid', secret);
    assert.equal(await refusal(new ApiCredentials(reopened, newCredentialKey()).verify(admin)), 'the credential is not valid');

    const rotated = (await verifier.create({ name: 'admin', role: 'mesh-admin', namespaces: [] })).secret;
    assert.equal(await refusal(verifier.verify(admin)), 'the credential is not valid');
    assert.equal((await verifier.verify(rotated)).credentialId, idOf(rotated));
    await reopened.close();
  }));

test('a credential expires at its time and a revoked one is refused but still listed', () =>
  withDir(async (dir) => {
    const store = openSqliteStore(path.join(dir, 'store.db'));
    const clock = { now: Date.UTC(2026, 0, 1) };
    const issuer = new ApiCredentials(store, newCredentialKey(), () => clock.now);
    const short = await issuer.create({ name: 'short', role: 'viewer', namespaces: [], ttlMs: 60_000 });
    assert.equal(short.credential.expiresAt, '2026-01-01T00:01:00.000Z');
    clock.now += 59_999;
    assert.equal((await issuer.verify(short.secret)).name, 'short');
    clock.now += 1;
    assert.equal(await refusal(issuer.verify(short.secret)), 'the credential short expired at 2026-01-01T00:01:00.000Z');

    const ops = (await issuer.create({ name: 'ops', role: 'auditor', namespaces: [] })).secret;
    assert.equal((await issuer.revoke('ops')).revokedAt, '2026-01-01T00:01:00.000Z');
    assert.equal(await refusal(issuer.verify(ops)), 'the credential ops was revoked at 2026-01-01T00:01:00.000Z');
    await assert.rejects(() => issuer.revoke('ops'), (e) => isWeftError(e, 'NOT_FOUND'));
    await assert.rejects(() => issuer.revoke('nobody'), (e) => isWeftError(e, 'NOT_FOUND'));
    assert.deepEqual(
      (await issuer.list()).map((c) => [c.name, c.expiresAt ?? '-', c.revokedAt ?? '-']),
      [
        ['ops', '-', '2026-01-01T00:01:00.000Z'],
        ['short', '2026-01-01T00:01:00.000Z', '-'],
      ],
    );
    await store.close();
  }));

test('the store file holds neither a secret nor its unkeyed SHA-256', () =>
  withDir(async (dir) => {
    const file = path.join(dir, 'store.db');
    const store = openSqliteStore(file);
    const issuer = new ApiCredentials(store, newCredentialKey());
    const secrets = await Promise.all(['viewer', 'editor', 'policy-admin', 'auditor', 'mesh-admin'].map(
      async (role, i) => (await issuer.create({ name: `c${i}`, role: role as 'viewer', namespaces: [] })).secret,
    ));
    await store.close();
    const bytes = await readFile(file);
    for (const secret of secrets) {
      const random = secret.slice('weft_0123456789abcdef_'.length);
      assert.equal(bytes.includes(Buffer.from(random)), false);
      assert.equal(bytes.includes(createHash('sha256').update(secret).digest()), false);
    }
  }));

test('bad operator input is BAD_REQUEST; a key of the wrong size is a caller bug', () =>
  withDir(async (dir) => {
    const store = openSqliteStore(path.join(dir, 'store.db'));
    const issuer = new ApiCredentials(store, newCredentialKey());
    const bad: Parameters<ApiCredentials['create']>[0][] = [
      { name: '', role: 'viewer', namespaces: [] },
      { name: 'a b', role: 'viewer', namespaces: [] },
      { name: 'x', role: 'viewer', namespaces: ['Shop'] },
      { name: 'x', role: 'mesh-admin', namespaces: ['shop'] },
      { name: 'x', role: 'viewer', namespaces: [], ttlMs: 0 },
    ];
    for (const options of bad) await assert.rejects(() => issuer.create(options), (e) => isWeftError(e, 'BAD_REQUEST'), JSON.stringify(options));
    assert.throws(() => new ApiCredentials(store, Buffer.alloc(16)), TypeError);
    await store.close();
  }));
