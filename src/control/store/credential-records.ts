/**
 * API credentials as the store keeps them: a name, a role and the SHA-256 of the secret, never the secret.
 * Issuing and verifying live in control/api/credentials.ts; this is only where they are kept.
 */
import type Database from 'better-sqlite3';

export type ApiRole = 'admin' | 'viewer';

export interface CredentialRecord {
  /** Public, random; the part of the presented secret used to find the record. */
  id: string;
  /** Who acts with this credential: the actor of every audit record it causes. */
  name: string;
  role: ApiRole;
  secretSha256: Buffer;
  createdAt: string;
}

export interface CredentialRecords {
  /** Stores `record`, replacing any credential with the same name (so issuing again rotates it). */
  put(record: CredentialRecord): void;
  findById(id: string): CredentialRecord | undefined;
  list(): CredentialRecord[];
  /** False if no credential had that name. */
  revoke(name: string): boolean;
}

interface CredentialRow {
  id: string;
  name: string;
  role: string;
  secret_sha256: Buffer;
  created_at: string;
}

function fromRow(row: CredentialRow): CredentialRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role === 'admin' ? 'admin' : 'viewer',
    secretSha256: row.secret_sha256,
    createdAt: row.created_at,
  };
}

export class SqliteCredentialRecords implements CredentialRecords {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  put(record: CredentialRecord): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM credentials WHERE name = ?').run(record.name);
      this.#db
        .prepare('INSERT INTO credentials (id, name, role, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(record.id, record.name, record.role, record.secretSha256, record.createdAt);
    })();
  }

  findById(id: string): CredentialRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM credentials WHERE id = ?').get(id) as CredentialRow | undefined;
    return row === undefined ? undefined : fromRow(row);
  }

  list(): CredentialRecord[] {
    const rows = this.#db.prepare('SELECT * FROM credentials ORDER BY name').all() as CredentialRow[];
    return rows.map(fromRow);
  }

  revoke(name: string): boolean {
    return this.#db.prepare('DELETE FROM credentials WHERE name = ?').run(name).changes > 0;
  }
}
