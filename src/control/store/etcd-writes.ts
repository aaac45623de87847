/**
 * How the etcd store writes: one write at a time per process, so a replica never races itself; each write built
 * against fresh reads of the revision and the chain head and committed with a compare-and-swap on them, so writers
 * on several replicas serialise there and the chain stays one chain. A writer that lost the race waits a random
 * while and builds its write again. etcd and network failures become STORE errors.
 */
import type { Namespace } from 'etcd3';
import { WeftError, isWeftError } from '../../errors.js';
import { GENESIS_HASH } from './audit-chain.js';
import { Attempt } from './etcd-change.js';
import type { Head } from './etcd-change.js';
import type { HistoryFeed } from './etcd-feed.js';
import { KEYS } from './etcd-keys.js';

/** How often one write is retried after losing a compare-and-swap to another writer. */
const MAX_ATTEMPTS = 64;
/** The longest random wait before retrying a write that lost, at first and at most (full jitter, doubling). */
const RETRY_WAIT_MS = 10;
const MAX_RETRY_WAIT_MS = 200;

export class EtcdWrites {
  /** Writes that lost their compare-and-swap to another writer and were tried again; tests and benches read it. */
  lostAttempts = 0;
  /** The newest revision this handle committed. */
  committed = 0;
  readonly #ns: Namespace;
  readonly #feed: HistoryFeed;
  readonly #watched: () => boolean;
  #queue: Promise<unknown> = Promise.resolve();

  /** `watched`: whether anyone listens, so a committed change must reach the watch before the write returns. */
  constructor(ns: Namespace, feed: HistoryFeed, watched: () => boolean) {
    this.#ns = ns;
    this.#feed = feed;
    this.#watched = watched;
  }

  /** A change: compares the revision key too, so two writers cannot both make revision n. */
  change<T>(build: (tx: Attempt) => Promise<T>): Promise<T> {
    const run = this.#queue.catch(() => undefined).then(() => storeCall(() => this.commit(true, build)));
    this.#queue = run;
    return run;
  }

  /** Runs `task` after the writes queued before it; it commits with `commit`, and answers its callers itself. */
  queue(task: () => Promise<void>): void {
    this.#queue = this.#queue.catch(() => undefined).then(task);
  }

  /** Settles when every write queued so far has. */
  async drained(): Promise<void> {
    await this.#queue.catch(() => undefined);
  }

  /**
   * Runs `build` against fresh reads until its transaction commits. Not queued: for a task already holding the
   * queue's turn. `isChange` false (audit appends that are not changes) compares the chain head only.
   */
  async commit<T>(isChange: boolean, build: (tx: Attempt) => Promise<T>): Promise<T> {
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
        this.committed = Math.max(this.committed, tx.revision);
        if (this.#watched() && tx.revision !== startRevision) await this.#feed.reach(Number(res.header.revision));
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
}

/** etcd and network failures become STORE errors; coded errors raised inside pass through as they are. */
export async function storeCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (isWeftError(err)) throw err;
    throw new WeftError('STORE', `store operation failed: ${(err as Error).message}`, { status: 503, cause: err });
  }
}
