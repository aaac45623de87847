/**
 * The store on etcd, for control planes that outgrow one machine: every replica opens the same prefix and sees the
 * same revisions, history, audit chain, tokens and credentials (key layout in etcd-keys.ts).
 *
 * A change is one etcd transaction holding the objects, their history records, their audit chain entries, the new
 * revision and the new chain head. It commits only if neither the revision key nor the head key moved since they
 * were read (compare-and-swap on both), so writers on several replicas serialise on them and the chain stays one
 * chain: a writer that lost the race reads again and retries. Audit appends that are not changes (pushes,
 * refusals, signed heads) compare the head only. Writes from one process go one at a time, so a replica never
 * races itself.
 */
import type { Etcd3, Namespace } from 'etcd3';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError, isWeftError } from '../../errors.js';
import { GENESIS_HASH } from './audit-chain.js';
import { PreparedContent } from './audit-prepared.js';
import type { AuditEntry, AuditEvent, AuditLogFilter } from './audit-chain.js';
import { EtcdCredentialRecords, EtcdTokenStore } from './etcd-identity-records.js';
import { Attempt, recordChange } from './etcd-change.js';
import type { Head } from './etcd-change.js';
import { HistoryFeed } from './etcd-feed.js';
import { EtcdSealedSecrets, campaignForLeader } from './etcd-replication.js';
import type { Leadership, SealedSecrets } from './etcd-replication.js';
import * as reads from './etcd-history.js';
import { EtcdJwksRecords } from './etcd-jwks.js';
import type { SharedJwksRecords } from './etcd-jwks.js';
import type { EtcdClientTls } from './etcd-tls.js';
import { KEYS, resourceKey, resourcePrefix } from './etcd-keys.js';
import { canonicalJson, checkDistinctKeys, checkStorable, sameDesiredState, storedForm } from './resource-content.js';
import type {
  Actor, ApplyOutcome, AuditFilter, AuditRecord, Clock, ControlStore, ResourceFilter,
  ResourceRevision, StoreEvent, StoreListener, StoredResource,
} from './types.js';

export interface EtcdStoreOptions {
  /** Client URLs of the cluster's members (http(s)://host:port); the client fails over between them. */
  endpoints: readonly string[];
  /** CA, and client certificate and key, for https:// members. */
  tls?: EtcdClientTls;
  /** Every key of this store starts with it; one prefix per mesh. */
  prefix?: string;
  clock?: Clock;
  onListenerError?: (err: unknown) => void;
  /** Per-call deadline; a member that stopped answering costs at most this before another is tried. */
  callTimeoutMs?: number;
}

/** Audit appends written in one transaction at most (each is two etcd operations). */
const AUDIT_BATCH = 256;

/** How often one write is retried after losing a compare-and-swap to another writer. */
const MAX_ATTEMPTS = 64;
/** The longest random wait before retrying a write that lost, at first and at most (full jitter, doubling). */
const RETRY_WAIT_MS = 10;
const MAX_RETRY_WAIT_MS = 200;

export class EtcdResourceStore implements ControlStore {
  readonly tokens: EtcdTokenStore;
  readonly credentials: EtcdCredentialRecords;
  readonly #client: Etcd3;
  readonly #ns: Namespace;
  readonly #clock: Clock;
  readonly #listeners = new Set<StoreListener>();
  readonly #onListenerError: (err: unknown) => void;
  readonly #feed: HistoryFeed;
  #writes: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** The newest revision this handle committed. */
  #committed = 0;
  #auditQueue: { event: AuditEvent; resolve: (e: AuditEntry) => void; reject: (err: unknown) => void }[] = [];

  constructor(client: Etcd3, ns: Namespace, options: EtcdStoreOptions) {
    this.#client = client;
    this.#ns = ns;
    this.#clock = options.clock ?? Date.now;
    this.#onListenerError = options.onListenerError ?? ((err) => process.emitWarning(`store watch listener failed: ${String(err)}`));
    this.#feed = new HistoryFeed(ns, (e) => this.#tell(e), (err) => this.#onListenerError(new Error(`store watch interrupted; catching up from the history records: ${String(err)}`)));
    this.tokens = new EtcdTokenStore(ns);
    this.credentials = new EtcdCredentialRecords(ns);
  }

  /** JWKS documents the leading replica fetched, shared with the others (etcd-jwks.ts). */
  get jwks(): SharedJwksRecords {
    return new EtcdJwksRecords(this.#ns);
  }

  get sealed(): SealedSecrets {
    return new EtcdSealedSecrets(this.#ns);
  }

  /** Campaigns for the replicas' leader lease (see etcd-replication.ts). */
  campaign(id: string, ttlSeconds: number, events: { onElected: () => void; onDeposed: (why: string) => void }): Leadership {
    return campaignForLeader(this.#ns, id, ttlSeconds, events);
  }

  /** Writes that lost their compare-and-swap to another writer and were tried again; tests and benches read it. */
  lostAttempts = 0;

  /** The watch's catch-ups so far (a compaction or a gap made it read instead of watch). */
  get watchCatchUps(): number {
    return this.#feed.catchUps;
  }

  async start(): Promise<void> {
    await this.#run(() => this.#feed.start());
  }

  async revision(): Promise<number> {
    return this.#run(async () => Number((await this.#ns.get(KEYS.revision).string()) ?? 0));
  }

  async list(filter: ResourceFilter = {}): Promise<StoredResource[]> {
    return this.#run(async () => {
      const all = await this.#ns.getAll().prefix(resourcePrefix(filter)).strings();
      return Object.values(all)
        .map((text) => JSON.parse(text) as StoredResource)
        .filter((r) => filter.namespace === undefined || r.metadata.namespace === filter.namespace)
        .sort(reads.byKeyOrder);
    });
  }

  async get(key: ResourceKey): Promise<StoredResource | undefined> {
    return this.#run(() => this.#read(key));
  }

  async apply(resources: Resource[], actor: Actor): Promise<ApplyOutcome[]> {
    const keys = resources.map(checkStorable);
    checkDistinctKeys(keys);
    for (const r of resources) canonicalJson(r); // content that is not JSON is refused before any read
    return this.#change(async (tx) => {
      const outcomes: ApplyOutcome[] = [];
      for (const [i, incoming] of resources.entries()) {
        const key = keys[i] as ResourceKey;
        const previous = await this.#read(key);
        if (previous !== undefined && sameDesiredState(previous, incoming)) {
          outcomes.push({ key, result: 'unchanged', resource: previous });
          continue;
        }
        const revision = ++tx.revision;
        const now = new Date(this.#clock()).toISOString();
        const stored = storedForm(incoming, revision, previous?.metadata.creationTimestamp ?? now, previous);
        tx.puts.push([resourceKey(key), canonicalJson(stored)]);
        recordChange(tx, revision, now, actor, previous === undefined ? 'create' : 'update', key, previous, stored);
        outcomes.push({ key, result: previous === undefined ? 'created' : 'configured', resource: stored });
      }
      return outcomes;
    });
  }

  async delete(keys: ResourceKey[], actor: Actor): Promise<StoredResource[]> {
    checkDistinctKeys(keys);
    return this.#change(async (tx) => {
      const found = await Promise.all(keys.map((k) => this.#read(k)));
      const missing = keys.filter((_, i) => found[i] === undefined);
      if (missing.length > 0) {
        throw new WeftError('NOT_FOUND', `not found: ${missing.map(resourceKeyString).join(', ')}`, { status: 404, detail: { missing } });
      }
      return keys.map((key, i) => {
        const previous = found[i] as StoredResource;
        const revision = ++tx.revision;
        const now = new Date(this.#clock()).toISOString();
        tx.deletes.push(resourceKey(key));
        recordChange(tx, revision, now, actor, 'delete', key, previous, undefined);
        return previous;
      });
    });
  }

  async setStatus(key: ResourceKey, status: unknown, actor: Actor): Promise<StoredResource> {
    return this.#change(async (tx) => {
      const previous = await this.#read(key);
      if (previous === undefined) throw new WeftError('NOT_FOUND', `not found: ${resourceKeyString(key)}`, { status: 404, detail: { key } });
      const revision = ++tx.revision;
      const now = new Date(this.#clock()).toISOString();
      const stored = JSON.parse(
        canonicalJson({ ...previous, metadata: { ...previous.metadata, resourceVersion: String(revision) }, status }),
      ) as StoredResource;
      tx.puts.push([resourceKey(key), canonicalJson(stored)]);
      recordChange(tx, revision, now, actor, 'status', key, previous, stored);
      return stored;
    });
  }

  async audit(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    return this.#run(() => reads.auditChanges(this.#ns, filter));
  }

  /**
   * Appends queue up while a write is in flight and go in together, as consecutive entries of one transaction: a
   * replica with thousands of proxies records their pushes and ACKs without one etcd round trip each, and a change
   * never waits behind a long line of single appends. The first batch of a turn is built on the next turn of the
   * event loop (as the SQLite store does): a push to thousands of proxies records each config sent, and sealing
   * those entries must not hold back the configs themselves, which go out on that turn.
   */
  appendAudit(event: AuditEvent): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#auditQueue.push({ event, resolve, reject });
      if (this.#auditQueue.length === 1) setImmediate(() => this.#flushAudit());
    });
  }

  #flushAudit(): void {
    this.#writes = this.#writes
      .catch(() => undefined)
      .then(async () => {
        const batch = this.#auditQueue.splice(0, AUDIT_BATCH);
        if (batch.length === 0) return;
        try {
          // Written in canonical form once, however many attempts seal the batch (audit-chain.ts PreparedContent).
          const cache = new Map<object, string>();
          const prepared = batch.map((b) => new PreparedContent(b.event, cache));
          const entries = await this.#run(() => this.#attempts(false, async (tx) => prepared.map((p) => tx.chain(p, new Date(this.#clock()).toISOString()))));
          batch.forEach((b, i) => b.resolve(entries[i] as AuditEntry));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
        if (this.#auditQueue.length > 0) this.#flushAudit();
      });
  }

  async auditTail(): Promise<AuditEntry | undefined> {
    return this.#run(() => reads.auditTail(this.#ns));
  }

  async auditLog(filter: AuditLogFilter = {}): Promise<AuditEntry[]> {
    return this.#run(() => reads.auditLog(this.#ns, filter));
  }

  async history(key: ResourceKey): Promise<ResourceRevision[]> {
    return this.#run(() => reads.historyOf(this.#ns, key));
  }

  async getAt(key: ResourceKey, revision: number): Promise<StoredResource | undefined> {
    return this.#run(async () => reads.getAt(this.#ns, key, revision, await this.revision()));
  }

  async listAt(filter: ResourceFilter, revision: number): Promise<StoredResource[]> {
    return this.#run(async () => reads.listAt(this.#ns, filter, revision, await this.revision()));
  }

  async revisionAt(time: string): Promise<number> {
    return this.#run(() => reads.revisionAt(this.#ns, time));
  }

  async pruneHistory(floor: number): Promise<number> {
    return this.#run(async () => reads.pruneHistory(this.#ns, floor, await this.revision()));
  }

  watch(listener: StoreListener): () => void {
    // A listener sees changes committed after it was registered: this handle's own earlier writes may still be on
    // their way through the watch, so they are filtered by revision.
    const from = this.#committed;
    const registration: StoreListener = (e) => {
      if (e.revision > from) listener(e);
    };
    this.#listeners.add(registration);
    return () => {
      this.#listeners.delete(registration);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    if (this.#auditQueue.length > 0) this.#flushAudit();
    await this.#writes.catch(() => undefined);
    await this.#feed.close();
    this.#client.close();
  }

  #tell(event: StoreEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#onListenerError(err);
      }
    }
  }

  async #read(key: ResourceKey): Promise<StoredResource | undefined> {
    const text = await this.#ns.get(resourceKey(key)).string();
    return text === null ? undefined : (JSON.parse(text) as StoredResource);
  }

  /** A change: compares the revision key too, so two writers cannot both make revision n. */
  #change<T>(build: (tx: Attempt) => Promise<T>): Promise<T> {
    return this.#write(true, build);
  }

  /** Runs `build` against fresh reads until its transaction commits; one write at a time per process. */
  #write<T>(isChange: boolean, build: (tx: Attempt) => Promise<T>): Promise<T> {
    const run = this.#writes.catch(() => undefined).then(() => this.#run(() => this.#attempts(isChange, build)));
    this.#writes = run;
    return run;
  }

  async #attempts<T>(isChange: boolean, build: (tx: Attempt) => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [rev, head] = await Promise.all([this.#ns.get(KEYS.revision).exec(), this.#ns.get(KEYS.auditHead).exec()]);
      const revKv = rev.kvs[0];
      const headKv = head.kvs[0];
      const headValue = headKv === undefined ? { seq: 0, hash: GENESIS_HASH } : (JSON.parse(headKv.value.toString('utf8')) as Head);
      const tx = new Attempt(Number(revKv?.value.toString('utf8') ?? 0), headValue);
      const startRevision = tx.revision;
      const result = await build(tx);
      if (tx.puts.length === 0 && tx.deletes.length === 0) return result;
      const ops = [
        ...tx.puts.map(([k, v]) => this.#ns.put(k).value(v)),
        ...tx.deletes.map((k) => this.#ns.delete().key(k)),
        this.#ns.put(KEYS.auditHead).value(JSON.stringify(tx.head)),
      ];
      if (tx.revision !== startRevision) ops.push(this.#ns.put(KEYS.revision).value(String(tx.revision)));
      let cmp = this.#ns.if(KEYS.auditHead, 'Mod', '==', headKv?.mod_revision ?? 0);
      if (isChange) cmp = cmp.and(KEYS.revision, 'Mod', '==', revKv?.mod_revision ?? 0);
      const res = await cmp.then(...ops).commit();
      if (res.succeeded) {
        this.#committed = Math.max(this.#committed, tx.revision);
        if (this.#listeners.size > 0 && tx.revision !== startRevision) await this.#feed.reach(Number(res.header.revision));
        return result;
      }
      // Another replica committed first. Replicas that push at once all append their push records at once: retried
      // at once they collide again, and each lost attempt sealed its whole batch for nothing (3 replicas sealed
      // every record 2-2.5 times). A random wait, growing with each loss, lets one commit while the others wait.
      this.lostAttempts++;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(MAX_RETRY_WAIT_MS, RETRY_WAIT_MS * 2 ** attempt)));
    }
    throw new WeftError('STORE', `the store stayed busy: ${MAX_ATTEMPTS} attempts lost to other writers`, { status: 503 });
  }

  /** etcd and network failures become STORE errors; coded errors raised inside pass through as they are. */
  async #run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (isWeftError(err)) throw err;
      throw new WeftError('STORE', `store operation failed: ${(err as Error).message}`, { status: 503, cause: err });
    }
  }
}

export type EtcdStore = ControlStore & {
  readonly watchCatchUps: number;
  readonly sealed: SealedSecrets;
  readonly jwks: SharedJwksRecords;
  campaign(id: string, ttlSeconds: number, events: { onElected: () => void; onDeposed: (why: string) => void }): Leadership;
};

