import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isWeftError } from '../../errors.js';
import { BootstrapTokens } from '../../identity/bootstrap-token.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';
import { openSqliteStore } from './sqlite-store.js';
import { runStoreConformance } from './store.conformance.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'weft-store-'));
}

runStoreConformance('sqlite', async () => {
  const dir = await tempDir();
  return {
    open: async ({ clock }) => openSqliteStore(path.join(dir, 'store.db'), { clock }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

test('the database is in WAL mode and records its schema version', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    const store = openSqliteStore(file);
    await store.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.deepEqual(db.prepare('SELECT version FROM schema_version').all(), [{ version: SCHEMA_VERSION }]);
    db.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a database from a newer weft is refused rather than rewritten', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    await openSqliteStore(file).close();
    const db = new Database(file);
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    assert.throws(() => openSqliteStore(file), (err) => isWeftError(err, 'STORE') && /newer weft/.test(err.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store used after close fails with STORE', async () => {
  const dir = await tempDir();
  try {
    const store = openSqliteStore(path.join(dir, 'store.db'));
    await store.close();
    await assert.rejects(store.list(), (err) => isWeftError(err, 'STORE'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a throwing watch listener is reported and does not stop the others or the store', async () => {
  const dir = await tempDir();
  try {
    const reported: unknown[] = [];
    const store = openSqliteStore(path.join(dir, 'store.db'), { onListenerError: (e) => reported.push(e) });
    const seen: number[] = [];
    store.watch(() => {
      throw new Error('listener bug');
    });
    store.watch((e) => seen.push(e.revision));
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default', labels: {}, annotations: {} }, spec: {} };
    await store.apply([svc], 'alice');
    assert.deepEqual(seen, [1]);
    assert.equal(reported.length, 1);
    assert.equal((await store.list()).length, 1);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bootstrap tokens survive a reopen and are single-use', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    const record = { namespace: 'default', serviceAccount: 'reviews', workload: 'reviews-v1', secretSha256: 'ab', issuedAt: 1, expiresAt: 5 };
    const first = openSqliteStore(file);
    first.tokens.put('t1', record);
    await first.close();
    const store = openSqliteStore(file);
    assert.deepEqual(store.tokens.get('t1'), record);
    assert.equal(store.tokens.get('nope'), undefined);
    assert.equal(store.tokens.markUsed('nope', 1), false);
    assert.equal(store.tokens.markUsed('t1', 10), true);
    assert.equal(store.tokens.markUsed('t1', 11), false);
    assert.equal(store.tokens.usedAt('t1'), 10);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bootstrap token issued before a restart is honoured once after it', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    const binding = { namespace: 'default', serviceAccount: 'bookinfo-reviews', workload: 'reviews-v1' };
    const first = openSqliteStore(file);
    const token = new BootstrapTokens(first.tokens, () => 1000).issue(binding, 60_000);
    await first.close();
    const store = openSqliteStore(file);
    const tokens = new BootstrapTokens(store.tokens, () => 2000);
    assert.deepEqual({ ...tokens.consume(token, binding) }, binding);
    assert.throws(() => tokens.consume(token, binding), (err) => isWeftError(err, 'TOKEN_REPLAYED'));
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
