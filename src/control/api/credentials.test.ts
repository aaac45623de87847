import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../store/sqlite-store.js';
import { createCredential, createCredentialVerifier } from './credentials.js';

test('credentials verify by secret, are stored hashed, survive a reopen and rotate on reissue', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-cred-'));
  try {
    const file = path.join(dir, 'store.db');
    const store = openSqliteStore(file);
    const admin = createCredential(store, { name: 'admin', role: 'admin' }, () => 0);
    const viewer = createCredential(store, { name: 'dash', role: 'viewer' });
    assert.match(admin, /^weft_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    for (const record of store.credentials.list()) {
      assert.equal(record.secretSha256.length, 32);
      assert.ok(!record.secretSha256.toString('latin1').includes(admin.slice(22)));
    }
    await store.close();

    const reopened = openSqliteStore(file);
    const verifier = createCredentialVerifier(reopened);
    const idOf = (secret: string): string => secret.slice(5, 21);
    assert.deepEqual(await verifier.verify(admin), { name: 'admin', role: 'admin', credentialId: idOf(admin) });
    assert.deepEqual(await verifier.verify(viewer), { name: 'dash', role: 'viewer', credentialId: idOf(viewer) });
    const refused = ['', 'weft_', admin.slice(0, -1), `${admin}x`, admin.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))];
    for (const secret of refused) assert.equal(await verifier.verify(secret), undefined, secret);

    const rotated = createCredential(reopened, { name: 'admin', role: 'admin' });
    assert.equal(await verifier.verify(admin), undefined);
    assert.deepEqual(await verifier.verify(rotated), { name: 'admin', role: 'admin', credentialId: idOf(rotated) });
    assert.equal(reopened.credentials.revoke('dash'), true);
    assert.equal(await verifier.verify(viewer), undefined);
    await reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a credential name or role outside the rules is a caller bug', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-cred-'));
  try {
    const store = openSqliteStore(path.join(dir, 'store.db'));
    assert.throws(() => createCredential(store, { name: '', role: 'admin' }), TypeError);
    assert.throws(() => createCredential(store, { name: 'a b', role: 'admin' }), TypeError);
    assert.throws(() => createCredential(store, { name: 'x', role: 'root' as 'admin' }), TypeError);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
