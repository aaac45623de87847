/**
 * The etcd backend's watch: one etcd watch on the history records, turned into the store's events in the store's
 * revision order, however many replicas write.
 *
 * etcd resumes a broken watch stream from the last revision it delivered; if that revision was compacted
 * meanwhile, etcd cancels the watch instead. The store's own history records are keys like any other (compaction
 * removes old versions of keys, not keys), so the feed then catches up by reading the records after the last one
 * it delivered and watches again from the revision of that read: no change is lost or delivered twice. Records
 * that retention removed before a listener saw them cannot be delivered; retention keeps far more than any outage.
 */
import type { Namespace, Watcher } from 'etcd3';
import type { IKeyValue } from 'etcd3/lib/rpc.js';
import { KEYS, historyKey, prefixEnd } from './etcd-keys.js';
import type { StoreEvent, StoredResource } from './types.js';
import type { AuditActor, AuditVerb } from './types.js';
import type { ResourceKey } from '../../config/resource.js';

/** One change as the etcd backend records it (history/<revision>). */
export interface HistoryRecord {
  revision: number;
  key: ResourceKey;
  time: string;
  actor: AuditActor;
  verb: AuditVerb;
  contentSha256: string | null;
  /** The object after the change; null for a delete. */
  body: StoredResource | null;
  /** For a delete: the object as it was, which the delete's watch event carries. */
  before?: StoredResource;
}

export function parseHistory(kv: IKeyValue): HistoryRecord {
  return JSON.parse(kv.value.toString('utf8')) as HistoryRecord;
}

function eventOf(r: HistoryRecord): StoreEvent | undefined {
  if (r.verb === 'delete') return r.before === undefined ? undefined : { revision: r.revision, type: 'delete', resource: r.before };
  return r.body === null ? undefined : { revision: r.revision, type: 'put', resource: r.body };
}

/** A writer never waits longer than this for its own change to reach local listeners; a stalled watch catches up later. */
const REACH_BOUND_MS = 10_000;

export class HistoryFeed {
  readonly #ns: Namespace;
  readonly #deliver: (event: StoreEvent) => void;
  readonly #onError: (err: unknown) => void;
  #watcher: Watcher | undefined;
  /** The store revision of the last record delivered. */
  #delivered = 0;
  /** Every history record written at or before this etcd revision has been delivered. */
  #seenEtcd = 0;
  #waiters: { etcdRevision: number; resolve: () => void }[] = [];
  #closed = false;
  #catchingUp: Promise<void> | undefined;
  /** How many times the feed caught up by reading (after a compaction or a gap); tests read it. */
  catchUps = 0;

  constructor(ns: Namespace, deliver: (event: StoreEvent) => void, onError: (err: unknown) => void) {
    this.#ns = ns;
    this.#deliver = deliver;
    this.#onError = onError;
  }

  /** Starts at the store's current revision: listeners see changes committed from now on. */
  async start(): Promise<void> {
    const res = await this.#ns.get(KEYS.revision).exec();
    this.#delivered = Number(res.kvs[0]?.value.toString('utf8') ?? 0);
    this.#seenEtcd = Number(res.header.revision);
    await this.#watchFrom(this.#seenEtcd + 1);
  }

  /** Resolves once changes committed at `etcdRevision` were delivered (or after a bound, if the watch is stalled). */
  reach(etcdRevision: number): Promise<void> {
    if (this.#closed || this.#seenEtcd >= etcdRevision) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { etcdRevision, resolve };
      this.#waiters.push(waiter);
      setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve();
      }, REACH_BOUND_MS).unref();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
    const watcher = this.#watcher;
    this.#watcher = undefined;
    await watcher?.cancel().catch(() => undefined);
  }

  async #watchFrom(etcdRevision: number): Promise<void> {
    const watcher = await this.#ns.watch().prefix(KEYS.history).startRevision(String(etcdRevision)).create();
    if (this.#closed) {
      await watcher.cancel();
      return;
    }
    this.#watcher = watcher;
    watcher.on('put', (kv) => {
      if (this.#watcher === watcher) this.#onPut(kv);
    });
    // A canceled watch (its start revision compacted away) or a stream that cannot resume.
    watcher.on('error', (err) => {
      if (this.#watcher === watcher) this.#catchUp(err);
    });
  }

  #onPut(kv: IKeyValue): void {
    const record = parseHistory(kv);
    if (record.revision > this.#delivered + 1) {
      // Something between was missed (it should not be): read it rather than deliver out of order.
      this.#catchUp(new Error(`watch skipped from ${this.#delivered} to ${record.revision}`));
      return;
    }
    if (record.revision === this.#delivered + 1) this.#emit(record);
    this.#seen(Number(kv.mod_revision));
  }

  #emit(record: HistoryRecord): void {
    this.#delivered = record.revision;
    const event = eventOf(record);
    if (event !== undefined) this.#deliver(event);
  }

  #seen(etcdRevision: number): void {
    if (etcdRevision <= this.#seenEtcd) return;
    this.#seenEtcd = etcdRevision;
    const ready = this.#waiters.filter((w) => w.etcdRevision <= etcdRevision);
    this.#waiters = this.#waiters.filter((w) => w.etcdRevision > etcdRevision);
    for (const w of ready) w.resolve();
  }

  #catchUp(reason: unknown): void {
    if (this.#closed || this.#catchingUp !== undefined) return;
    this.catchUps++;
    const stale = this.#watcher;
    this.#watcher = undefined;
    void stale?.cancel().catch(() => undefined);
    this.#catchingUp = (async () => {
      for (;;) {
        try {
          const res = await this.#ns.getAll().inRange({ start: historyKey(this.#delivered + 1), end: prefixEnd(KEYS.history) }).exec();
          for (const kv of res.kvs) {
            const record = parseHistory(kv);
            if (record.revision > this.#delivered) this.#emit(record);
          }
          const at = Number(res.header.revision);
          await this.#watchFrom(at + 1);
          this.#seen(at);
          return;
        } catch (err) {
          if (this.#closed) return;
          this.#onError(err);
          await new Promise((r) => setTimeout(r, 500).unref());
        }
      }
    })().finally(() => {
      this.#catchingUp = undefined;
    });
    this.#onError(reason);
  }
}
