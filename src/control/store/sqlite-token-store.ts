/**
 * Bootstrap tokens kept in the control plane's database, so a token issued before a restart is still honoured
 * (or still refused as replayed) after it. `markUsed` is one conditional UPDATE: of two concurrent redemptions
 * exactly one wins, which is what makes a token single-use.
 */
import type Database from 'better-sqlite3';
import type { TokenRecord, TokenStore } from '../../identity/bootstrap-token.js';

export class SqliteTokenStore implements TokenStore {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  async put(id: string, record: TokenRecord): Promise<void> {
    this.#db
      .prepare('INSERT OR REPLACE INTO bootstrap_tokens (id, record, used_at) VALUES (?, ?, NULL)')
      .run(id, JSON.stringify(record));
  }

  async get(id: string): Promise<TokenRecord | undefined> {
    const row = this.#db.prepare('SELECT record FROM bootstrap_tokens WHERE id = ?').get(id) as
      | { record: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as TokenRecord);
  }

  /** True for the first call on a known token; false if it is unknown or was used already. */
  async markUsed(id: string, at: number): Promise<boolean> {
    return (
      this.#db.prepare('UPDATE bootstrap_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL').run(at, id)
        .changes === 1
    );
  }

  /** When the token was used (ms), or undefined if unknown or unused. */
  async usedAt(id: string): Promise<number | undefined> {
    const row = this.#db.prepare('SELECT used_at FROM bootstrap_tokens WHERE id = ?').get(id) as
      | { used_at: number | null }
      | undefined;
    return row?.used_at ?? undefined;
  }
}
