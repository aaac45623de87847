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

export class EtcdAuditAppends {
  readonly #writes: EtcdWrites;
  readonly #clock: Clock;
  #queue: { event: AuditEvent; resolve: (e: AuditEntry) => void; reject: (err: unknown) => void }[] = [];

  constructor(writes: EtcdWrites, clock: Clock) {
    this.#writes = writes;
    this.#clock = clock;
  }

  /**
   * The first batch of a turn is built on the next turn of the event loop (as the SQLite store does): a push to
   * thousands of proxies records each config sent, and sealing those entries must not hold back the configs
   * themselves, which go out on that turn.
   */
  append(event: AuditEvent): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** At close: what is still queued goes now rather than on the next turn. */
  flush(): void {
    if (this.#queue.length > 0) this.#flush();
  }

  #flush(): void {
    this.#writes.queue(async () => {
      const batch = this.#queue.splice(0, AUDIT_BATCH);
      if (batch.length === 0) return;
      try {
        // Written in canonical form once, however many attempts seal the batch (audit-chain.ts PreparedContent).
        const cache = new Map<object, string>();
        const prepared = batch.map((b) => new PreparedContent(b.event, cache));
        const entries = await storeCall(() => this.#writes.commit(false, async (tx) => prepared.map((p) => tx.chain(p, new Date(this.#clock()).toISOString()))));
        batch.forEach((b, i) => b.resolve(entries[i] as AuditEntry));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
      if (this.#queue.length > 0) this.#flush();
    });
  }
}
