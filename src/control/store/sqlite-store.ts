/**
 * The embedded store: one SQLite file holding resources, their history, the revision counter, the audit chain,
 * bootstrap tokens and API credentials. better-sqlite3 is synchronous, so each store call is one transaction that no
 * other call can interleave with; watch events are delivered after COMMIT, in the order they were committed.
 */
import Database from 'better-sqlite3';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError, isWeftError } from '../../errors.js';
import type { AuditEntry, AuditEvent, AuditLogFilter } from './audit-chain.js';
import { SqliteCredentialRecords } from './credential-records.js';
import { canonicalJson, checkDistinctKeys, checkStorable, sameDesiredState, storedForm } from './resource-content.js';
import { SqliteAuditChain } from './sqlite-audit-chain.js';
import { PreparedContent } from './audit-prepared.js';
import type { CanonicalCache } from './audit-prepared.js';
import { recordChange } from './sqlite-change.js';
import { SqliteHistory } from './sqlite-history.js';
import { SqliteResources } from './sqlite-resources.js';
import { migrate } from './sqlite-schema.js';
import { SqliteTokenStore } from './sqlite-token-store.js';
import type {
  Actor,
  ApplyOutcome,
  AuditFilter,
  AuditRecord,
  Clock,
  ControlStore,
  ResourceFilter,
  ResourceRevision,
  StoreEvent,
  StoreListener,
  StoredResource,
} from './types.js';

export interface SqliteStoreOptions {
  clock?: Clock;
  /** How long a writer waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
  /** Where a watch listener's exception goes; a listener must not be able to break the store. */
  onListenerError?: (err: unknown) => void;
}

export interface SqliteStore extends ControlStore {
  readonly tokens: SqliteTokenStore;
  readonly credentials: SqliteCredentialRecords;
}

class SqliteResourceStore implements SqliteStore {
  readonly tokens: SqliteTokenStore;
  readonly credentials: SqliteCredentialRecords;
  readonly #db: Database.Database;
  readonly #resources: SqliteResources;
  readonly #chain: SqliteAuditChain;
  readonly #history: SqliteHistory;
  readonly #clock: Clock;
  readonly #listeners = new Set<StoreListener>();
  readonly #onListenerError: (err: unknown) => void;
  /** Appends not yet written: they go in together, as consecutive entries of one transaction (see appendAudit). */
  readonly #auditQueue: { event: AuditEvent; resolve: (e: AuditEntry) => void; reject: (err: unknown) => void }[] = [];

  constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.#db = db;
    this.#resources = new SqliteResources(db);
    this.#chain = new SqliteAuditChain(db);
    this.#history = new SqliteHistory(db);
    this.#clock = options.clock ?? Date.now;
    this.#onListenerError =
      options.onListenerError ?? ((err) => process.emitWarning(`store watch listener failed: ${String(err)}`));
    this.tokens = new SqliteTokenStore(db);
    this.credentials = new SqliteCredentialRecords(db);
  }

  async revision(): Promise<number> {
    return this.#run(() => this.#resources.revision());
  }

  async list(filter: ResourceFilter = {}): Promise<StoredResource[]> {
    return this.#run(() => this.#resources.list(filter));
  }

  async get(key: ResourceKey): Promise<StoredResource | undefined> {
    return this.#run(() => this.#resources.read(key));
  }

  async apply(resources: Resource[], actor: Actor): Promise<ApplyOutcome[]> {
    const keys = resources.map(checkStorable);
    checkDistinctKeys(keys);
    return this.#commit((events) =>
      resources.map((incoming, i): ApplyOutcome => {
        const key = keys[i] as ResourceKey;
        const previous = this.#resources.read(key);
        if (previous !== undefined && sameDesiredState(previous, incoming)) {
          return { key, result: 'unchanged', resource: previous };
        }
        const revision = this.#resources.nextRevision();
        const now = new Date(this.#clock()).toISOString();
        const created = previous?.metadata.creationTimestamp ?? now;
        const stored = storedForm(incoming, revision, created, previous);
        this.#resources.write(key, stored);
        recordChange(this.#chain, this.#history, { revision, time: now, actor, verb: previous === undefined ? 'create' : 'update', key, before: previous, after: stored });
        events.push({ revision, type: 'put', resource: stored });
        return { key, result: previous === undefined ? 'created' : 'configured', resource: stored };
      }),
    );
  }

  async delete(keys: ResourceKey[], actor: Actor): Promise<StoredResource[]> {
    checkDistinctKeys(keys);
    return this.#commit((events) => {
      const missing = keys.filter((k) => this.#resources.read(k) === undefined);
      if (missing.length > 0) {
        throw new WeftError('NOT_FOUND', `not found: ${missing.map(resourceKeyString).join(', ')}`, {
          status: 404,
          detail: { missing },
        });
      }
      return keys.map((key) => {
        const previous = this.#resources.read(key) as StoredResource;
        const revision = this.#resources.nextRevision();
        const now = new Date(this.#clock()).toISOString();
        this.#resources.remove(key);
        recordChange(this.#chain, this.#history, { revision, time: now, actor, verb: 'delete', key, before: previous, after: undefined });
        events.push({ revision, type: 'delete', resource: previous });
        return previous;
      });
    });
  }

  async setStatus(key: ResourceKey, status: unknown, actor: Actor): Promise<StoredResource> {
    return this.#commit((events) => {
      const previous = this.#resources.read(key);
      if (previous === undefined) {
        throw new WeftError('NOT_FOUND', `not found: ${resourceKeyString(key)}`, { status: 404, detail: { key } });
      }
      const revision = this.#resources.nextRevision();
      const now = new Date(this.#clock()).toISOString();
      const stored = JSON.parse(
        canonicalJson({ ...previous, metadata: { ...previous.metadata, resourceVersion: String(revision) }, status }),
      ) as StoredResource;
      this.#resources.write(key, stored);
      recordChange(this.#chain, this.#history, { revision, time: now, actor, verb: 'status', key, before: previous, after: stored });
      events.push({ revision, type: 'put', resource: stored });
      return stored;
    });
  }

  async audit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    return this.#run(() => this.#chain.changes(filter));
  }

  /**
   * Appends made while the event loop is busy go in together, as consecutive entries of one transaction: a control
   * plane with thousands of proxies records their pushes and ACKs without a transaction each. Any other operation
   * writes the queued appends first, so the chain's order is still the order of the calls.
   */
  appendAudit(event: AuditEvent): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#auditQueue.push({ event, resolve, reject });
      if (this.#auditQueue.length === 1) setImmediate(() => this.#flushAudit());
    });
  }

  #flushAudit(): void {
    const batch = this.#auditQueue.splice(0);
    if (batch.length === 0) return;
    try {
      const time = new Date(this.#clock()).toISOString();
      // One canonical text per object the batch's events share (a push's mesh settings are in every record of it).
      const cache: CanonicalCache = new Map();
      const entries = this.#run(() => this.#db.transaction(() => this.#chain.appendAll(batch.map((b) => new PreparedContent(b.event, cache)), time)).immediate());
      batch.forEach((b, i) => b.resolve(entries[i] as AuditEntry));
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  async auditTail(): Promise<AuditEntry | undefined> {
    return this.#run(() => this.#chain.tail());
  }

  async auditLog(filter: AuditLogFilter = {}): Promise<AuditEntry[]> {
    return this.#run(() => this.#chain.log(filter));
  }

  async history(key: ResourceKey): Promise<ResourceRevision[]> {
    return this.#run(() => this.#history.of(key));
  }

  async getAt(key: ResourceKey, revision: number): Promise<StoredResource | undefined> {
    return this.#run(() => this.#history.getAt(key, revision, this.#resources.revision()));
  }

  async listAt(filter: ResourceFilter, revision: number): Promise<StoredResource[]> {
    return this.#run(() => this.#history.listAt(filter, revision, this.#resources.revision()));
  }

  async revisionAt(time: string): Promise<number> {
    return this.#run(() => this.#history.revisionAt(time));
  }

  async pruneHistory(floor: number): Promise<number> {
    return this.#run(() =>
      this.#db.transaction(() => this.#history.prune(Math.min(floor, this.#resources.revision()))).immediate(),
    );
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
    this.#flushAudit();
    this.#listeners.clear();
    if (this.#db.open) this.#db.close();
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
    if (this.#auditQueue.length > 0) this.#flushAudit();
    try {
      return op();
    } catch (err) {
      if (isWeftError(err)) throw err;
      throw new WeftError('STORE', `store operation failed: ${(err as Error).message}`, { status: 500, cause: err });
    }
  }
}

/** Negative: a size in KiB (SQLite's convention), not a count of pages. */
const SQLITE_CACHE_KIB = -2000;

/** Opens (creating or migrating) the store in `file`. The revision continues where the last run left it. */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  let db: Database.Database;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('foreign_keys = ON');
    // SQLite's own default page cache (2,000 KiB) instead of the 16,000 KiB better-sqlite3 builds with: the control
    // plane serves reads from its resource mirror, and what reaches the store is mostly appends to the audit chain,
    // which filled the larger cache with pages it never reads again (16 MiB of the control plane's memory after one
    // change to 2,000 proxies). Pages it does read again come from the OS's page cache.
    db.pragma(`cache_size = ${SQLITE_CACHE_KIB}`);
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
