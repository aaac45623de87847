/**
 * API credentials as the store keeps them: a name, role bindings, an expiry, a revocation time and a keyed hash
 * (HMAC-SHA-256) of the secret, never the secret. Issuing and verifying live in control/api/credentials.ts; this is
 * only where they are kept.
 */
import type Database from 'better-sqlite3';

/** A role bound in a namespace (or `*`), as stored; what roles mean is control/api/rbac.ts's business. */
export interface StoredBinding {
  role: string;
  namespace: string;
}

export interface CredentialRecord {
  /** Public, random; the part of the presented secret used to find the record. */
  id: string;
  /** Who acts with this credential: the actor of every audit record it causes. */
  name: string;
  bindings: StoredBinding[];
  /** HMAC-SHA-256 of the whole secret under the control plane's credential key. */
  secretHmac: Buffer;
  createdAt: string;
  /** ISO-8601; undefined for a credential that does not expire. */
  expiresAt: string | undefined;
  /** ISO-8601 time of revocation; a revoked credential is kept so that `weft auth list` still shows it. */
  revokedAt: string | undefined;
}

export interface CredentialRecords {
  /** Stores `record`, replacing any credential with the same name (so issuing again rotates it). */
  put(record: CredentialRecord): Promise<void>;
  findById(id: string): Promise<CredentialRecord | undefined>;
  list(): Promise<CredentialRecord[]>;
  /** False if no unrevoked credential had that name. */
  revoke(name: string, at: string): Promise<boolean>;
}

/**
 * Schema step 2: the credentials table is replaced, and refused API calls got a table of their own, which step 3
 * folds into the audit chain and drops. The first schema kept an unkeyed SHA-256 per credential and one role. A keyed hash cannot be derived
 * from the old one without the secret, so the table is replaced; the control plane reissues its admin credential
 * at start when the one on file no longer verifies, and no other credential could be issued before this step.
 */
export const CREDENTIALS_MIGRATION = `
  DROP TABLE credentials;
  CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    bindings TEXT NOT NULL,
    secret_hmac BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  ) WITHOUT ROWID;

  CREATE TABLE refused_calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    verb TEXT NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL
  );
`;

interface CredentialRow {
  id: string;
  name: string;
  bindings: string;
  secret_hmac: Buffer;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

function bindingsFromJson(text: string): StoredBinding[] {
  const parsed = JSON.parse(text) as { role?: unknown; namespace?: unknown }[];
  return parsed.flatMap((b) => (typeof b.role === 'string' && typeof b.namespace === 'string' ? [{ role: b.role, namespace: b.namespace }] : []));
}

function fromRow(row: CredentialRow): CredentialRecord {
  return {
    id: row.id,
    name: row.name,
    bindings: bindingsFromJson(row.bindings),
    secretHmac: row.secret_hmac,
    createdAt: row.created_at,
    expiresAt: row.expires_at ?? undefined,
    revokedAt: row.revoked_at ?? undefined,
  };
}

export class SqliteCredentialRecords implements CredentialRecords {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  async put(record: CredentialRecord): Promise<void> {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM credentials WHERE name = ?').run(record.name);
      this.#db
        .prepare(
          `INSERT INTO credentials (id, name, bindings, secret_hmac, created_at, expires_at, revoked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          record.id,
          record.name,
          JSON.stringify(record.bindings),
          record.secretHmac,
          record.createdAt,
          record.expiresAt ?? null,
          record.revokedAt ?? null,
        );
    })();
  }

  async findById(id: string): Promise<CredentialRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM credentials WHERE id = ?').get(id) as CredentialRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  async list(): Promise<CredentialRecord[]> {
    const rows = this.#db.prepare('SELECT * FROM credentials ORDER BY name').all() as CredentialRow[];
    return rows.map(fromRow);
  }

  async revoke(name: string, at: string): Promise<boolean> {
    return this.#db.prepare('UPDATE credentials SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL').run(at, name).changes > 0;
  }
}
