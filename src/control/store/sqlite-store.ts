/**
 * The embedded store: one SQLite file holding resources, the revision counter, the audit trail, bootstrap
 * tokens and API credentials. better-sqlite3 is synchronous, so each store call is one transaction that no
 * other call can interleave with; watch events are delivered after COMMIT, in the order they were committed.
 */
import Database from 'better-sqlite3';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError, isWeftError } from '../../errors.js';
import { SqliteCredentialRecords } from './credential-records.js';
import {
  canonicalJson,
  checkDistinctKeys,
  checkStorable,
  contentSha256,
  sameDesiredState,
  storedForm,
} from './resource-content.js';
import { migrate } from './sqlite-schema.js';
import { SqliteTokenStore } from './sqlite-token-store.js';
import type {
  ApplyOutcome,
  AuditFilter,
  AuditRecord,
  AuditVerb,
  Clock,
  RefusalInput,
  RefusalRecord,
  ResourceFilter,
  ResourceStore,
  StoreEvent,
  StoreListener,
  StoredResource,
} from './types.js';
import { MAX_AUDIT_PAGE } from './types.js';

export interface SqliteStoreOptions {
  clock?: Clock;
  /** How long a writer waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
  /** Where a watch listener's exception goes; a listener must not be able to break the store. */
  onListenerError?: (err: unknown) => void;
}

export interface SqliteStore extends ResourceStore {
  readonly tokens: SqliteTokenStore;
  readonly credentials: SqliteCredentialRecords;
}

interface AuditRow {
  revision: number;
  time: string;
  actor: string;
  verb: AuditVerb;
  kind: string;
  namespace: string;
  name: string;
  content_sha256: string | null;
}

class SqliteResourceStore implements SqliteStore {
  readonly tokens: SqliteTokenStore;
  readonly credentials: SqliteCredentialRecords;
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #listeners = new Set<StoreListener>();
  readonly #onListenerError: (err: unknown) => void;

  constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.#db = db;
    this.#clock = options.clock ?? Date.now;
    this.#onListenerError =
      options.onListenerError ?? ((err) => process.emitWarning(`store watch listener failed: ${String(err)}`));
    this.tokens = new SqliteTokenStore(db);
    this.credentials = new SqliteCredentialRecords(db);
  }

  async revision(): Promise<number> {
    return this.#run(() => this.#currentRevision());
  }

  async list(filter: ResourceFilter = {}): Promise<StoredResource[]> {
    return this.#run(() => {
      const rows = this.#db
        .prepare(
          `SELECT body FROM resources
           WHERE (@kind IS NULL OR kind = @kind) AND (@namespace IS NULL OR namespace = @namespace)
           ORDER BY kind, namespace, name`,
        )
        .all({ kind: filter.kind ?? null, namespace: filter.namespace ?? null }) as { body: string }[];
      return rows.map((r) => JSON.parse(r.body) as StoredResource);
    });
  }

  async get(key: ResourceKey): Promise<StoredResource | undefined> {
    return this.#run(() => this.#read(key));
  }

  async apply(resources: Resource[], actor: string): Promise<ApplyOutcome[]> {
    const keys = resources.map(checkStorable);
    checkDistinctKeys(keys);
    return this.#commit((events) =>
      resources.map((incoming, i): ApplyOutcome => {
        const key = keys[i] as ResourceKey;
        const previous = this.#read(key);
        if (previous !== undefined && sameDesiredState(previous, incoming)) {
          return { key, result: 'unchanged', resource: previous };
        }
        const revision = this.#bumpRevision();
        const now = new Date(this.#clock()).toISOString();
        const created = previous?.metadata.creationTimestamp ?? now;
        const stored = storedForm(incoming, revision, created, previous);
        this.#write(key, stored);
        this.#audit(revision, now, actor, previous === undefined ? 'create' : 'update', key, stored);
        events.push({ revision, type: 'put', resource: stored });
        return { key, result: previous === undefined ? 'created' : 'configured', resource: stored };
      }),
    );
  }

  async delete(keys: ResourceKey[], actor: string): Promise<StoredResource[]> {
    checkDistinctKeys(keys);
    return this.#commit((events) => {
      const missing = keys.filter((k) => this.#read(k) === undefined);
      if (missing.length > 0) {
        throw new WeftError('NOT_FOUND', `not found: ${missing.map(resourceKeyString).join(', ')}`, {
          status: 404,
          detail: { missing },
        });
      }
      return keys.map((key) => {
        const previous = this.#read(key) as StoredResource;
        const revision = this.#bumpRevision();
        const now = new Date(this.#clock()).toISOString();
        this.#db
          .prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?')
          .run(key.kind, key.namespace, key.name);
        this.#audit(revision, now, actor, 'delete', key, undefined);
        events.push({ revision, type: 'delete', resource: previous });
        return previous;
      });
    });
  }

  async setStatus(key: ResourceKey, status: unknown, actor: string): Promise<StoredResource> {
    return this.#commit((events) => {
      const previous = this.#read(key);
      if (previous === undefined) {
        throw new WeftError('NOT_FOUND', `not found: ${resourceKeyString(key)}`, { status: 404, detail: { key } });
      }
      const revision = this.#bumpRevision();
      const now = new Date(this.#clock()).toISOString();
      const stored = JSON.parse(
        canonicalJson({ ...previous, metadata: { ...previous.metadata, resourceVersion: String(revision) }, status }),
      ) as StoredResource;
      this.#write(key, stored);
      this.#audit(revision, now, actor, 'status', key, stored);
      events.push({ revision, type: 'put', resource: stored });
      return stored;
    });
  }

  async audit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    const limit = Math.max(0, Math.min(filter.limit ?? MAX_AUDIT_PAGE, MAX_AUDIT_PAGE));
    return this.#run(() => {
      const rows = this.#db
        .prepare('SELECT * FROM audit WHERE revision > ? ORDER BY revision LIMIT ?')
        .all(filter.since ?? 0, limit) as AuditRow[];
      return rows.map((r) => ({
        revision: r.revision,
        time: r.time,
        actor: r.actor,
        verb: r.verb,
        key: { kind: r.kind, namespace: r.namespace, name: r.name },
        contentSha256: r.content_sha256,
      }));
    });
  }

  async recordRefusal(refusal: RefusalInput): Promise<RefusalRecord> {
    return this.#run(() => {
      const time = new Date(this.#clock()).toISOString();
      const { seq } = this.#db
        .prepare(
          `INSERT INTO refused_calls (time, actor, verb, kind, namespace, name, reason)
           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
        )
        .get(time, refusal.actor, refusal.verb, refusal.key.kind, refusal.key.namespace, refusal.key.name, refusal.reason) as {
        seq: number;
      };
      return { seq, time, ...refusal };
    });
  }

  async refusals(filter: AuditFilter = {}): Promise<RefusalRecord[]> {
    const limit = Math.max(0, Math.min(filter.limit ?? MAX_AUDIT_PAGE, MAX_AUDIT_PAGE));
    return this.#run(() => {
      const rows = this.#db
        .prepare('SELECT * FROM refused_calls WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(filter.since ?? 0, limit) as (Omit<RefusalRecord, 'key'> & ResourceKey)[];
      return rows.map((r) => ({
        seq: r.seq,
        time: r.time,
        actor: r.actor,
        verb: r.verb,
        key: { kind: r.kind, namespace: r.namespace, name: r.name },
        reason: r.reason,
      }));
    });
  }

  watch(listener: StoreListener): () => void {
    // Wrapped so that the same function may watch twice and each registration is stopped on its own.
    const registration: StoreListener = (e) => listener(e);
    this.#listeners.add(registration);
    return () => {
      this.#listeners.delete(registration);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    if (this.#db.open) this.#db.close();
  }

  #currentRevision(): number {
    return (this.#db.prepare('SELECT revision FROM store_revision WHERE id = 1').get() as { revision: number })
      .revision;
  }

  #bumpRevision(): number {
    return (
      this.#db.prepare('UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision').get() as {
        revision: number;
      }
    ).revision;
  }

  #read(key: ResourceKey): StoredResource | undefined {
    const row = this.#db
      .prepare('SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name = ?')
      .get(key.kind, key.namespace, key.name) as { body: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.body) as StoredResource);
  }

  #write(key: ResourceKey, stored: StoredResource): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO resources (kind, namespace, name, revision, body) VALUES (?, ?, ?, ?, ?)')
      .run(key.kind, key.namespace, key.name, Number(stored.metadata.resourceVersion), canonicalJson(stored));
  }

  #audit(
    revision: number,
    time: string,
    actor: string,
    verb: AuditVerb,
    key: ResourceKey,
    content: StoredResource | undefined,
  ): void {
    this.#db
      .prepare(
        `INSERT INTO audit (revision, time, actor, verb, kind, namespace, name, content_sha256)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        revision,
        time,
        actor,
        verb,
        key.kind,
        key.namespace,
        key.name,
        content === undefined ? null : contentSha256(content),
      );
  }

  /** Runs `change` in one IMMEDIATE transaction, then tells the watchers what it committed. */
  #commit<T>(change: (events: StoreEvent[]) => T): T {
    const events: StoreEvent[] = [];
    const result = this.#run(() => this.#db.transaction(() => change(events)).immediate());
    for (const event of events) {
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch (err) {
          this.#onListenerError(err);
        }
      }
    }
    return result;
  }

  /** Database failures become STORE errors; coded errors raised inside pass through as they are. */
  #run<T>(op: () => T): T {
    try {
      return op();
    } catch (err) {
      if (isWeftError(err)) throw err;
      throw new WeftError('STORE', `store operation failed: ${(err as Error).message}`, { status: 500, cause: err });
    }
  }
}

/** Opens (creating or migrating) the store in `file`. The revision continues where the last run left it. */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  let db: Database.Database;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new WeftError('STORE', `cannot open the store ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    migrate(db);
  } catch (err) {
    db.close();
    if (isWeftError(err)) throw err;
    throw new WeftError('STORE', `cannot migrate the store ${file}: ${(err as Error).message}`, { cause: err });
  }
  return new SqliteResourceStore(db, options);
}
