/**
 * The audit chain in SQLite: one row per entry, the entry's canonical text as it was hashed, its hash, and the
 * columns readers filter on. Appending reads the last hash and writes the next entry; the caller holds the
 * transaction, so an entry and the change it records commit together or not at all.
 */
import type Database from 'better-sqlite3';
import { GENESIS_HASH } from './audit-chain.js';
import type { AuditContent, AuditEntry, AuditLogFilter } from './audit-chain.js';
import { PreparedContent } from './audit-prepared.js';
import type { AuditFilter, AuditRecord } from './types.js';
import { MAX_AUDIT_PAGE } from './types.js';

interface ChainRow {
  entry: string;
  hash: string;
}

function parseRow(row: ChainRow): AuditEntry {
  return { ...(JSON.parse(row.entry) as Omit<AuditEntry, 'hash'>), hash: row.hash } as AuditEntry;
}

export class SqliteAuditChain {
  readonly #db: Database.Database;
  #lastStmt: Database.Statement | undefined;
  #insertStmt: Database.Statement | undefined;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  /** Must run inside the caller's transaction. */
  append(content: AuditContent | PreparedContent, time: string): AuditEntry {
    return this.appendAll([content instanceof PreparedContent ? content : new PreparedContent(content)], time)[0] as AuditEntry;
  }

  /**
   * Consecutive entries, each after the one before: the chain's last entry is read once, not once an entry (a
   * query and its row for each of a push's thousands of records). Must run inside the caller's transaction.
   */
  appendAll(contents: readonly PreparedContent[], time: string): AuditEntry[] {
    // Prepared once: preparing them again on every append was most of its cost with thousands of proxies' ACKs.
    this.#lastStmt ??= this.#db.prepare('SELECT seq, hash FROM audit_chain ORDER BY seq DESC LIMIT 1');
    const insert = (this.#insertStmt ??= this.#db.prepare('INSERT INTO audit_chain (seq, time, type, revision, kind, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?)'));
    const last = this.#lastStmt.get() as { seq: number; hash: string } | undefined;
    let seq = last?.seq ?? 0;
    let prev = last?.hash ?? GENESIS_HASH;
    return contents.map((prepared) => {
      // The stored text is the one the hash is over: made once, not once to hash and again to store.
      const { entry: sealed, canonical } = prepared.sealCanonical(++seq, time, prev);
      insert.run(sealed.seq, time, sealed.type, sealed.type === 'change' ? sealed.revision : null, sealed.type === 'change' ? sealed.key.kind : null, canonical, sealed.hash);
      prev = sealed.hash;
      return sealed;
    });
  }

  tail(): AuditEntry | undefined {
    const row = this.#db.prepare('SELECT entry, hash FROM audit_chain ORDER BY seq DESC LIMIT 1').get() as ChainRow | undefined;
    return row === undefined ? undefined : parseRow(row);
  }

  /** Entries as stored: the text that was hashed, parsed, with the stored hash beside it. */
  log(filter: AuditLogFilter): AuditEntry[] {
    const limit = Math.max(0, Math.min(filter.limit ?? MAX_AUDIT_PAGE, MAX_AUDIT_PAGE));
    const rows = this.#db
      .prepare(
        `SELECT entry, hash FROM audit_chain
         WHERE seq > @afterSeq
           AND (@sinceTime IS NULL OR time >= @sinceTime)
           AND (@sinceRevision IS NULL OR seq > COALESCE(
                 (SELECT MAX(seq) FROM audit_chain WHERE type = 'change' AND revision <= @sinceRevision), 0))
           AND (@type IS NULL OR type = @type)
           AND (@resourceKind IS NULL OR (type = 'change' AND kind = @resourceKind))
         ORDER BY seq LIMIT @limit`,
      )
      .all({
        afterSeq: filter.afterSeq ?? 0,
        sinceTime: filter.sinceTime ?? null,
        sinceRevision: filter.sinceRevision ?? null,
        type: filter.type ?? null,
        resourceKind: filter.resourceKind ?? null,
        limit,
      }) as ChainRow[];
    return rows.map(parseRow);
  }

  /** The change entries in the shape of the original audit trail (one per revision). */
  changes(filter: AuditFilter): AuditRecord[] {
    const limit = Math.max(0, Math.min(filter.limit ?? MAX_AUDIT_PAGE, MAX_AUDIT_PAGE));
    const rows = this.#db
      .prepare(`SELECT entry, hash FROM audit_chain WHERE type = 'change' AND revision > ? ORDER BY seq LIMIT ?`)
      .all(filter.since ?? 0, limit) as ChainRow[];
    return rows.flatMap((r) => {
      const e = JSON.parse(r.entry) as AuditEntry;
      if (e.type !== 'change') return [];
      return [{ revision: e.revision, time: e.time, actor: e.actor.name, verb: e.verb, key: e.key, contentSha256: e.newSha256 }];
    });
  }
}
