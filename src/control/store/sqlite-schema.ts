/**
 * The SQLite store's schema as an ordered list of migrations. `schema_version` records how many have run, so a
 * database written by an older weft is brought forward on open and never rebuilt.
 */
import type Database from 'better-sqlite3';
import { WeftError } from '../../errors.js';
import { CREDENTIALS_MIGRATION } from './credential-records.js';

const MIGRATIONS: readonly string[] = [
  // 1: resources, the revision counter, the audit trail, bootstrap tokens, API credentials.
  `
  CREATE TABLE store_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
  );
  INSERT INTO store_revision (id, revision) VALUES (1, 0);

  CREATE TABLE resources (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
  ) WITHOUT ROWID;

  CREATE TABLE audit (
    revision INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    verb TEXT NOT NULL CHECK (verb IN ('create', 'update', 'delete', 'status')),
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    content_sha256 TEXT
  );

  CREATE TABLE bootstrap_tokens (
    id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    used_at INTEGER
  ) WITHOUT ROWID;

  CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    secret_sha256 BLOB NOT NULL,
    created_at TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: API credentials with role bindings, expiry, revocation and a keyed hash (see credential-records.ts).
  CREDENTIALS_MIGRATION,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs every migration the database has not seen, each in its own transaction. */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  if (row === undefined) db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
  const current = row?.version ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new WeftError(
      'STORE',
      `the store was written by a newer weft (schema ${current}; this one knows up to ${SCHEMA_VERSION})`,
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const sql = MIGRATIONS[v] as string;
    db.transaction(() => {
      db.exec(sql);
      db.prepare('UPDATE schema_version SET version = ?').run(v + 1);
    })();
  }
}
