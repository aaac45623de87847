/**
 * The objects as they are now in SQLite, one row each with its canonical body, and the store's revision counter.
 * Called inside the store's transactions: nothing here begins or commits one.
 */
import type Database from 'better-sqlite3';
import type { ResourceKey } from '../../config/resource.js';
import { canonicalJson } from './resource-content.js';
import type { ResourceFilter, StoredResource } from './types.js';

export class SqliteResources {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  revision(): number {
    return (this.#db.prepare('SELECT revision FROM store_revision WHERE id = 1').get() as { revision: number }).revision;
  }

  /** The next revision, counted: a change takes one per object it writes. */
  nextRevision(): number {
    return (
      this.#db.prepare('UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision').get() as {
        revision: number;
      }
    ).revision;
  }

  list(filter: ResourceFilter): StoredResource[] {
    const rows = this.#db
      .prepare(
        `SELECT body FROM resources
         WHERE (@kind IS NULL OR kind = @kind) AND (@namespace IS NULL OR namespace = @namespace)
         ORDER BY kind, namespace, name`,
      )
      .all({ kind: filter.kind ?? null, namespace: filter.namespace ?? null }) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as StoredResource);
  }

  read(key: ResourceKey): StoredResource | undefined {
    const row = this.#db
      .prepare('SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name = ?')
      .get(key.kind, key.namespace, key.name) as { body: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.body) as StoredResource);
  }

  write(key: ResourceKey, stored: StoredResource): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO resources (kind, namespace, name, revision, body) VALUES (?, ?, ?, ?, ?)')
      .run(key.kind, key.namespace, key.name, Number(stored.metadata.resourceVersion), canonicalJson(stored));
  }

  remove(key: ResourceKey): void {
    this.#db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?').run(key.kind, key.namespace, key.name);
  }
}
