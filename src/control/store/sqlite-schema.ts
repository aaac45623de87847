/**
 * The SQLite store's schema as an ordered list of migrations. `schema_version` records how many have run, so a
 * database written by an older weft is brought forward on open and never rebuilt.
 */
import type Database from 'better-sqlite3';
import { WeftError } from '../../errors.js';
import { GENESIS_HASH, sealEntry } from './audit-chain.js';
import type { AuditContent } from './audit-chain.js';
import { CREDENTIALS_MIGRATION } from './credential-records.js';
import { canonicalJson } from './resource-content.js';
import type { AuditVerb } from './types.js';

/** SQL, or a function for a step that must compute (hashes) while it moves data. */
type Migration = string | ((db: Database.Database) => void);

const MIGRATIONS: readonly Migration[] = [
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
  // 2: API credentials with role bindings, expiry, revocation and a keyed hash (see credential-records.ts), and
  // the table of refused calls that step 3 folds into the chain.
  CREDENTIALS_MIGRATION,
  // 3: the audit trail becomes a hash chain (changes, refusals, pushes, signed heads) and every revision of
  // every object is kept. Rows of the old trail and the refused calls of step 2 become the first chain entries,
  // in the order of their times; history starts at the revision the database is at, since older bodies were
  // never kept.
  (db) => {
    db.exec(`
    CREATE TABLE audit_chain (
      seq INTEGER PRIMARY KEY,
      time TEXT NOT NULL,
      type TEXT NOT NULL,
      revision INTEGER,
      kind TEXT,
      entry TEXT NOT NULL,
      hash TEXT NOT NULL
    );
    CREATE INDEX audit_chain_time ON audit_chain (time);
    CREATE INDEX audit_chain_revision ON audit_chain (revision);

    CREATE TABLE resource_history (
      revision INTEGER PRIMARY KEY,
      kind TEXT NOT NULL,
      namespace TEXT NOT NULL,
      name TEXT NOT NULL,
      time TEXT NOT NULL,
      actor TEXT NOT NULL,
      verb TEXT NOT NULL,
      content_sha256 TEXT,
      body TEXT
    );
    CREATE INDEX resource_history_key ON resource_history (kind, namespace, name, revision);

    CREATE TABLE history_floor (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      revision INTEGER NOT NULL
    );
    `);
    const old = db.prepare('SELECT * FROM audit ORDER BY revision').all() as {
      revision: number;
      time: string;
      actor: string;
      verb: AuditVerb;
      kind: string;
      namespace: string;
      name: string;
      content_sha256: string | null;
    }[];
    const refused = db.prepare('SELECT * FROM refused_calls ORDER BY seq').all() as {
      time: string;
      actor: string;
      verb: string;
      kind: string;
      namespace: string;
      name: string;
      reason: string;
    }[];
    const changes = old.map((row): { time: string; content: AuditContent } => ({
      time: row.time,
      content: {
        type: 'change',
        actor: { name: row.actor },
        verb: row.verb,
        key: { kind: row.kind, namespace: row.namespace, name: row.name },
        revision: row.revision,
        oldSha256: null,
        newSha256: row.content_sha256,
        diff: [],
      },
    }));
    // Step 2 kept only 403s, with the refusal's reason; method and path were not recorded.
    const refusals = refused.map((row): { time: string; content: AuditContent } => ({
      time: row.time,
      content: {
        type: 'refusal',
        actor: { name: row.actor },
        method: '',
        path: '',
        code: 'FORBIDDEN',
        status: 403,
        reason: row.reason,
        verb: row.verb,
        key: { kind: row.kind, namespace: row.namespace, name: row.name },
      },
    }));
    // A stable sort keeps each table's own order among entries of the same time.
    const entries = [...changes, ...refusals].sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const insert = db.prepare(
      'INSERT INTO audit_chain (seq, time, type, revision, kind, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    let prev = GENESIS_HASH;
    for (const [i, { time, content }] of entries.entries()) {
      const { hash, ...entry } = sealEntry(content, i + 1, time, prev);
      const change = content.type === 'change' ? content : undefined;
      insert.run(i + 1, time, content.type, change?.revision ?? null, change?.key.kind ?? null, canonicalJson(entry), hash);
      prev = hash;
    }
    const byRevision = new Map(old.map((r) => [r.revision, r]));
    const current = db.prepare('SELECT kind, namespace, name, revision, body FROM resources').all() as {
      kind: string;
      namespace: string;
      name: string;
      revision: number;
      body: string;
    }[];
    const seed = db.prepare(
      `INSERT INTO resource_history (revision, kind, namespace, name, time, actor, verb, content_sha256, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of current) {
      const audited = byRevision.get(r.revision);
      seed.run(r.revision, r.kind, r.namespace, r.name, audited?.time ?? '', canonicalJson({ name: audited?.actor ?? '' }),
        audited?.verb ?? 'update', audited?.content_sha256 ?? null, r.body);
    }
    db.exec('INSERT INTO history_floor (id, revision) SELECT 1, revision FROM store_revision WHERE id = 1; DROP TABLE audit; DROP TABLE refused_calls;');
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs every migration the database has not seen, each in its own transaction; `upTo` stops early (tests). */
export function migrate(db: Database.Database, upTo: number = SCHEMA_VERSION): void {
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
  for (let v = current; v < upTo; v++) {
    const step = MIGRATIONS[v] as Migration;
    db.transaction(() => {
      if (typeof step === 'string') db.exec(step);
      else step(db);
      db.prepare('UPDATE schema_version SET version = ?').run(v + 1);
    })();
  }
}
