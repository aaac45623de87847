/**
 * Every revision of every object in SQLite: one row per revision with the body after the change (none for a
 * delete). The state at revision R is, for each object, its newest row at or before R. Retention removes rows no
 * reading from the floor on needs (an object's newest row at or before the floor stays), so any revision from
 * the floor on reads back exactly; the audit chain keeps its entries and their hashes whatever is pruned.
 */
import type Database from 'better-sqlite3';
import type { ResourceKey } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import { canonicalJson } from './resource-content.js';
import type { AuditActor, AuditVerb, ResourceFilter, ResourceRevision, StoredResource } from './types.js';

interface HistoryRow {
  revision: number;
  kind: string;
  namespace: string;
  name: string;
  time: string;
  actor: string;
  verb: AuditVerb;
  content_sha256: string | null;
  body: string | null;
}

export class SqliteHistory {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Must run inside the change's transaction. */
  record(change: {
    revision: number;
    key: ResourceKey;
    time: string;
    actor: AuditActor;
    verb: AuditVerb;
    contentSha256: string | null;
    body: StoredResource | undefined;
  }): void {
    const { key } = change;
    this.#db
      .prepare(
        `INSERT INTO resource_history (revision, kind, namespace, name, time, actor, verb, content_sha256, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        change.revision,
        key.kind,
        key.namespace,
        key.name,
        change.time,
        canonicalJson(change.actor),
        change.verb,
        change.contentSha256,
        change.body === undefined ? null : canonicalJson(change.body),
      );
  }

  of(key: ResourceKey): ResourceRevision[] {
    const rows = this.#db
      .prepare('SELECT * FROM resource_history WHERE kind = ? AND namespace = ? AND name = ? ORDER BY revision')
      .all(key.kind, key.namespace, key.name) as HistoryRow[];
    return rows.map((r) => ({
      revision: r.revision,
      time: r.time,
      actor: JSON.parse(r.actor) as AuditActor,
      verb: r.verb,
      key,
      resource: r.body === null ? null : (JSON.parse(r.body) as StoredResource),
      contentSha256: r.content_sha256,
    }));
  }

  listAt(filter: ResourceFilter, revision: number, current: number): StoredResource[] {
    this.#checkReadable(revision, current);
    const rows = this.#db
      .prepare(
        `SELECT h.body FROM resource_history h
         JOIN (SELECT kind, namespace, name, MAX(revision) AS revision FROM resource_history
               WHERE revision <= @at AND (@kind IS NULL OR kind = @kind) AND (@namespace IS NULL OR namespace = @namespace)
               GROUP BY kind, namespace, name) newest ON h.revision = newest.revision
         WHERE h.body IS NOT NULL
         ORDER BY h.kind, h.namespace, h.name`,
      )
      .all({ at: revision, kind: filter.kind ?? null, namespace: filter.namespace ?? null }) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as StoredResource);
  }

  getAt(key: ResourceKey, revision: number, current: number): StoredResource | undefined {
    this.#checkReadable(revision, current);
    const row = this.#db
      .prepare(
        `SELECT body FROM resource_history WHERE kind = ? AND namespace = ? AND name = ? AND revision <= ?
         ORDER BY revision DESC LIMIT 1`,
      )
      .get(key.kind, key.namespace, key.name, revision) as { body: string | null } | undefined;
    return row?.body == null ? undefined : (JSON.parse(row.body) as StoredResource);
  }

  /** The last revision made at or before `time` (ISO-8601, as the store writes times). */
  revisionAt(time: string): number {
    const row = this.#db
      .prepare(`SELECT MAX(revision) AS revision FROM audit_chain WHERE type = 'change' AND time <= ?`)
      .get(time) as { revision: number | null };
    return row.revision ?? 0;
  }

  floor(): number {
    const row = this.#db.prepare('SELECT revision FROM history_floor WHERE id = 1').get() as { revision: number } | undefined;
    return row?.revision ?? 0;
  }

  /** Must run inside a transaction. Never lowers the floor. */
  prune(floor: number): number {
    const kept = Math.max(this.floor(), floor);
    this.#db
      .prepare(
        `DELETE FROM resource_history AS h WHERE h.revision < @floor AND h.revision < (
           SELECT MAX(n.revision) FROM resource_history n
           WHERE n.kind = h.kind AND n.namespace = h.namespace AND n.name = h.name AND n.revision <= @floor)`,
      )
      .run({ floor: kept });
    // A delete at or before the floor leaves nothing to read there: its row is no longer needed.
    this.#db.prepare(`DELETE FROM resource_history WHERE revision <= ? AND verb = 'delete'`).run(kept);
    this.#db.prepare('INSERT OR REPLACE INTO history_floor (id, revision) VALUES (1, ?)').run(kept);
    return kept;
  }

  #checkReadable(revision: number, current: number): void {
    if (!Number.isInteger(revision) || revision < 0 || revision > current) {
      throw new WeftError('BAD_REQUEST', `revision ${revision} is not between 0 and the current revision ${current}`, {
        status: 400,
      });
    }
    const floor = this.floor();
    if (revision < floor) {
      throw new WeftError('HISTORY_PRUNED', `revisions before ${floor} are no longer kept (history retention)`, {
        status: 410,
        detail: { floor },
      });
    }
  }
}
