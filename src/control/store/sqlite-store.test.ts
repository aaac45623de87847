import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isWeftError } from '../../errors.js';
import { BootstrapTokens } from '../../identity/bootstrap-token.js';
import { verifyChain } from './audit-chain.js';
import { canonicalJson, contentSha256 } from './resource-content.js';
import { SCHEMA_VERSION, migrate } from './sqlite-schema.js';
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

test('audit appends made in one turn go in together, and an apply made after them is chained after them', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    const store = openSqliteStore(file);
    const push = (i: number) => store.appendAudit({ type: 'push', proxy: `sidecar/default/p${i}`, outcome: 'ack', configVersion: String(i), configSha256: null });
    const appended = [push(1), push(2), push(3)];
    await store.apply([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default', labels: {}, annotations: {} }, spec: { ports: [] } }], 'alice');
    const entries = await Promise.all(appended);
    assert.deepEqual(entries.map((e) => e.seq), [1, 2, 3]);
    const chain = await store.auditLog();
    assert.deepEqual(chain.map((e) => e.type), ['push', 'push', 'push', 'change']);
    assert.equal(verifyChain(chain, { checkSignature: () => false }).ok, true);
    // An append not followed by anything else is still written.
    const later = await push(4);
    assert.equal(later.seq, 5);
    await store.close();
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
    await first.tokens.put('t1', record);
    await first.close();
    const store = openSqliteStore(file);
    assert.deepEqual(await store.tokens.get('t1'), record);
    assert.equal(await store.tokens.get('nope'), undefined);
    assert.equal(await store.tokens.markUsed('nope', 1), false);
    assert.equal(await store.tokens.markUsed('t1', 10), true);
    assert.equal(await store.tokens.markUsed('t1', 11), false);
    assert.equal(await store.tokens.usedAt('t1'), 10);
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
    const token = await new BootstrapTokens(first.tokens, () => 1000).issue(binding, 60_000);
    await first.close();
    const store = openSqliteStore(file);
    const tokens = new BootstrapTokens(store.tokens, () => 2000);
    assert.deepEqual({ ...(await tokens.consume(token, binding)) }, binding);
    await assert.rejects(() => tokens.consume(token, binding), (err) => isWeftError(err, 'TOKEN_REPLAYED'));
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store of the first schema is brought forward in order: audit rows open the chain, history starts where it was, credentials are replaced', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    const body = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a', namespace: 'default', labels: {}, annotations: {}, resourceVersion: '2', creationTimestamp: '2026-01-01T00:00:01.000Z' },
      spec: { ports: [] },
    };
    const old = new Database(file);
    migrate(old, 1);
    old.exec(`UPDATE store_revision SET revision = 2;
      INSERT INTO audit VALUES (1, '2026-01-01T00:00:01.000Z', 'alice', 'create', 'Service', 'default', 'a', 'x');
      INSERT INTO audit VALUES (2, '2026-01-01T00:00:02.000Z', 'bob', 'update', 'Service', 'default', 'a', '${contentSha256(body as never)}');
      INSERT INTO credentials VALUES ('00112233445566aa', 'admin', 'admin', x'${'ab'.repeat(32)}', '2026-01-01T00:00:00.000Z');`);
    old.prepare(`INSERT INTO resources VALUES ('Service', 'default', 'a', 2, ?)`).run(canonicalJson(body));
    old.close();
    const store = openSqliteStore(file);
    try {
      const key = { kind: 'Service', namespace: 'default', name: 'a' };
      assert.deepEqual((await store.audit()).map((a) => [a.revision, a.actor, a.verb]), [[1, 'alice', 'create'], [2, 'bob', 'update']]);
      assert.equal(verifyChain(await store.auditLog(), { checkSignature: () => false }).ok, true);
      assert.deepEqual(await store.getAt(key, 2), body);
      await assert.rejects(store.getAt(key, 1), (err) => isWeftError(err, 'HISTORY_PRUNED'));
      await store.apply([{ ...body, spec: { ports: [{ port: 1 }] } }], 'carol');
      assert.deepEqual((await store.history(key)).map((r) => [r.revision, r.actor.name, r.verb]), [[2, 'bob', 'update'], [3, 'carol', 'update']]);
      assert.deepEqual((await store.auditLog()).map((e) => e.seq), [1, 2, 3]);
      // An unkeyed SHA-256 cannot become a keyed hash: the old credential is gone and the control plane reissues its own.
      assert.deepEqual(await store.credentials.list(), []);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.deepEqual(db.prepare('SELECT version FROM schema_version').all(), [{ version: SCHEMA_VERSION }]);
      const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
      assert.deepEqual(tables, [
        'audit_chain',
        'bootstrap_tokens',
        'credentials',
        'history_floor',
        'resource_history',
        'resources',
        'schema_version',
        'store_revision',
      ]);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refused calls kept in their own table by the second schema join the chain in time order, and the table goes', async () => {
  const dir = await tempDir();
  try {
    const file = path.join(dir, 'store.db');
    const old = new Database(file);
    migrate(old, 2);
    old.exec(`UPDATE store_revision SET revision = 2;
      INSERT INTO audit VALUES (1, '2026-01-01T00:00:01.000Z', 'alice', 'create', 'Service', 'default', 'a', 'x');
      INSERT INTO audit VALUES (2, '2026-01-01T00:00:03.000Z', 'alice', 'delete', 'Service', 'default', 'a', NULL);
      INSERT INTO refused_calls (time, actor, verb, kind, namespace, name, reason)
        VALUES ('2026-01-01T00:00:02.000Z', 'eve', 'create', 'AuthorizationPolicy', 'shop', 'p', 'eve (viewer in all namespaces) lacks permission');
      INSERT INTO refused_calls (time, actor, verb, kind, namespace, name, reason)
        VALUES ('2026-01-01T00:00:03.000Z', 'eve', 'list', 'AuditRecord', '*', '', 'eve lacks permission to list');`);
    old.close();
    const store = openSqliteStore(file);
    try {
      const log = await store.auditLog();
      assert.equal(verifyChain(log, { checkSignature: () => false }).ok, true);
      assert.deepEqual(
        log.map((e) => [e.seq, e.time, e.type, e.type === 'change' ? e.actor.name : e.type === 'refusal' ? e.actor?.name : '']),
        [
          [1, '2026-01-01T00:00:01.000Z', 'change', 'alice'],
          [2, '2026-01-01T00:00:02.000Z', 'refusal', 'eve'],
          [3, '2026-01-01T00:00:03.000Z', 'change', 'alice'],
          [4, '2026-01-01T00:00:03.000Z', 'refusal', 'eve'],
        ],
      );
      const refusal = log[1];
      assert.ok(refusal?.type === 'refusal');
      assert.deepEqual(
        { verb: refusal.verb, key: refusal.key, status: refusal.status, code: refusal.code, reason: refusal.reason },
        {
          verb: 'create',
          key: { kind: 'AuthorizationPolicy', namespace: 'shop', name: 'p' },
          status: 403,
          code: 'FORBIDDEN',
          reason: 'eve (viewer in all namespaces) lacks permission',
        },
      );
      assert.deepEqual((await store.audit()).map((a) => [a.revision, a.verb]), [[1, 'create'], [2, 'delete']]);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.prepare(`SELECT name FROM sqlite_master WHERE name IN ('refused_calls', 'audit')`).all().length, 0);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
