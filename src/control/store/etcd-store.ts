/**
 * The store on etcd, for control planes that outgrow one machine: every replica opens the same prefix and sees the
 * same revisions, history, audit chain, tokens and credentials (key layout in etcd-keys.ts).
 *
 * A change is one etcd transaction holding the objects, their history records, their audit chain entries, the new
 * revision and the new chain head, committed by compare-and-swap (etcd-writes.ts). Audit appends that are not
 * changes go in batches (etcd-audit-appends.ts).
 */
import type { Etcd3, Namespace } from 'etcd3';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import type { AuditEntry, AuditEvent, AuditLogFilter } from './audit-chain.js';
import { EtcdAuditAppends } from './etcd-audit-appends.js';
import { EtcdCredentialRecords, EtcdTokenStore } from './etcd-identity-records.js';
import { recordChange } from './etcd-change.js';
import { HistoryFeed } from './etcd-feed.js';
import { EtcdSealedSecrets, campaignForLeader } from './etcd-replication.js';
import type { Leadership, SealedSecrets } from './etcd-replication.js';
import * as reads from './etcd-history.js';
import { EtcdJwksRecords } from './etcd-jwks.js';
import type { SharedJwksRecords } from './etcd-jwks.js';
import type { EtcdClientTls } from './etcd-tls.js';
import { KEYS, resourceKey, resourcePrefix } from './etcd-keys.js';
import { EtcdWrites, storeCall } from './etcd-writes.js';
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

export class EtcdResourceStore implements ControlStore {
  readonly tokens: EtcdTokenStore;
  readonly credentials: EtcdCredentialRecords;
  readonly #client: Etcd3;
  readonly #ns: Namespace;
  readonly #clock: Clock;
  readonly #listeners = new Set<StoreListener>();
  readonly #onListenerError: (err: unknown) => void;
  readonly #feed: HistoryFeed;
  readonly #writes: EtcdWrites;
  readonly #appends: EtcdAuditAppends;
  #closed = false;

  constructor(client: Etcd3, ns: Namespace, options: EtcdStoreOptions) {
    this.#client = client;
    this.#ns = ns;
    this.#clock = options.clock ?? Date.now;
    this.#onListenerError = options.onListenerError ?? ((err) => process.emitWarning(`store watch listener failed: ${String(err)}`));
    this.#feed = new HistoryFeed(ns, (e) => this.#tell(e), (err) => this.#onListenerError(new Error(`store watch interrupted; catching up from the history records: ${String(err)}`)));
    this.#writes = new EtcdWrites(ns, this.#feed, () => this.#listeners.size > 0);
    this.#appends = new EtcdAuditAppends(this.#writes, this.#clock);
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
  get lostAttempts(): number {
    return this.#writes.lostAttempts;
  }

  /** The watch's catch-ups so far (a compaction or a gap made it read instead of watch). */
  get watchCatchUps(): number {
    return this.#feed.catchUps;
  }

  async start(): Promise<void> {
    await storeCall(() => this.#feed.start());
  }

  async revision(): Promise<number> {
    return storeCall(async () => Number((await this.#ns.get(KEYS.revision).string()) ?? 0));
  }

  async list(filter: ResourceFilter = {}): Promise<StoredResource[]> {
    return storeCall(async () => {
      const all = await this.#ns.getAll().prefix(resourcePrefix(filter)).strings();
      return Object.values(all)
        .map((text) => JSON.parse(text) as StoredResource)
        .filter((r) => filter.namespace === undefined || r.metadata.namespace === filter.namespace)
        .sort(reads.byKeyOrder);
    });
  }

  async get(key: ResourceKey): Promise<StoredResource | undefined> {
    return storeCall(() => this.#read(key));
  }

  async apply(resources: Resource[], actor: Actor): Promise<ApplyOutcome[]> {
    const keys = resources.map(checkStorable);
    checkDistinctKeys(keys);
    for (const r of resources) canonicalJson(r); // content that is not JSON is refused before any read
    return this.#writes.change(async (tx) => {
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
    return this.#writes.change(async (tx) => {
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
    return this.#writes.change(async (tx) => {
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
    return storeCall(() => reads.auditChanges(this.#ns, filter));
  }

  appendAudit(event: AuditEvent): Promise<AuditEntry> {
    return this.#appends.append(event);
  }

  async auditTail(): Promise<AuditEntry | undefined> {
    return storeCall(() => reads.auditTail(this.#ns));
  }

  async auditLog(filter: AuditLogFilter = {}): Promise<AuditEntry[]> {
    return storeCall(() => reads.auditLog(this.#ns, filter));
  }

  async history(key: ResourceKey): Promise<ResourceRevision[]> {
    return storeCall(() => reads.historyOf(this.#ns, key));
  }

  async getAt(key: ResourceKey, revision: number): Promise<StoredResource | undefined> {
    return storeCall(async () => reads.getAt(this.#ns, key, revision, await this.revision()));
  }

  async listAt(filter: ResourceFilter, revision: number): Promise<StoredResource[]> {
    return storeCall(async () => reads.listAt(this.#ns, filter, revision, await this.revision()));
  }

  async revisionAt(time: string): Promise<number> {
    return storeCall(() => reads.revisionAt(this.#ns, time));
  }

  async pruneHistory(floor: number): Promise<number> {
    return storeCall(async () => reads.pruneHistory(this.#ns, floor, await this.revision()));
  }

  watch(listener: StoreListener): () => void {
    // A listener sees changes committed after it was registered: this handle's own earlier writes may still be on
    // their way through the watch, so they are filtered by revision.
    const from = this.#writes.committed;
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
    this.#appends.flush();
    await this.#writes.drained();
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
}

export type EtcdStore = ControlStore & {
  readonly watchCatchUps: number;
  readonly sealed: SealedSecrets;
  readonly jwks: SharedJwksRecords;
  campaign(id: string, ttlSeconds: number, events: { onElected: () => void; onDeposed: (why: string) => void }): Leadership;
};

