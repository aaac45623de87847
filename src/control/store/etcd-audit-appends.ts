/**
 * Audit appends that are not changes (pushes, ACKs, refusals, signed heads) on etcd: they queue up while a write is
 * in flight and go in together, as consecutive entries of one transaction, so a replica with thousands of proxies
 * records their pushes and ACKs without one etcd round trip each, and a change never waits behind a long line of
 * single appends.
 */
import type { AuditEntry, AuditEvent } from './audit-chain.js';
import { PreparedContent } from './audit-prepared.js';
import type { EtcdWrites } from './etcd-writes.js';
import { storeCall } from './etcd-writes.js';
import type { Clock } from './types.js';

/** Audit appends written in one transaction at most (each is two etcd operations). */
const AUDIT_BATCH = 256;
/**
 * Records of configs sent and ACKed wait for their push to settle: until a PUSH_QUIET_MS tick passes with none
 * coming, and at most PUSH_LINGER_TICKS ticks. A push to thousands of proxies makes one record per config and per
 * ACK; sealing them, and etcd committing them on every member, took CPU from the push itself, which is what the
 * proxies wait for (docs/decisions.md, 2026-12-08). Ticks, not the store's clock: that clock stamps the records
 * (and stands still in tests), while this is only when to write them.
 */
const PUSH_QUIET_MS = 200;
const PUSH_LINGER_TICKS = 10;
/** Records waiting at most: a push larger than this is written as it goes, a batch at a time. */
const PUSH_WAITING_MAX = 16 * AUDIT_BATCH;

interface Queued {
  event: AuditEvent;
  resolve: (e: AuditEntry) => void;
  reject: (err: unknown) => void;
}

export class EtcdAuditAppends {
  readonly #writes: EtcdWrites;
  readonly #clock: Clock;
  #queue: Queued[] = [];
  /** A flush is queued behind the writes, or due on the next turn. */
  #flushing = false;
  /** Push records wait: the tick's timer, whether one came since the last tick, and how many ticks have passed. */
  #lingering: NodeJS.Timeout | undefined;
  #heard = false;
  #ticks = 0;

  constructor(writes: EtcdWrites, clock: Clock) {
    this.#writes = writes;
    this.#clock = clock;
  }

  /**
   * Push records wait for their push to settle; anything else goes on the next turn of the event loop, with the
   * push records queued before it (the chain keeps the order they came in). The next turn, as the SQLite store
   * does: sealing must not hold back what the caller does on this one.
   */
  append(event: AuditEvent): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      if (event.type !== 'push' || this.#queue.length >= PUSH_WAITING_MAX) {
        this.#flushSoon();
        return;
      }
      this.#heard = true;
      if (this.#lingering === undefined && !this.#flushing) {
        this.#heard = false;
        this.#ticks = 0;
        this.#linger();
      }
    });
  }

  /** At close: what is still queued goes now rather than later. */
  flush(): void {
    if (this.#queue.length > 0) this.#flushNow();
  }

  #linger(): void {
    this.#lingering = setTimeout(() => {
      this.#lingering = undefined;
      if (this.#queue.length === 0 || this.#flushing) return;
      if (this.#heard && ++this.#ticks < PUSH_LINGER_TICKS) {
        this.#heard = false;
        this.#linger();
      } else this.#flushNow();
    }, PUSH_QUIET_MS);
  }

  #flushSoon(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => this.#flushNow());
  }

  #flushNow(): void {
    clearTimeout(this.#lingering);
    this.#lingering = undefined;
    this.#flushing = true;
    this.#writes.queue(async () => {
      const batch = this.#queue.splice(0, AUDIT_BATCH);
      if (batch.length > 0) await this.#write(batch);
      if (this.#queue.length > 0) this.#flushNow();
      else this.#flushing = false;
    });
  }

  async #write(batch: Queued[]): Promise<void> {
    try {
      // Written in canonical form once, however many attempts seal the batch (audit-chain.ts PreparedContent).
      const cache = new Map<object, string>();
      const prepared = batch.map((b) => new PreparedContent(b.event, cache));
      const entries = await storeCall(() => this.#writes.commit(false, async (tx) => prepared.map((p) => tx.chain(p, new Date(this.#clock()).toISOString()))));
      batch.forEach((b, i) => b.resolve(entries[i] as AuditEntry));
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}
