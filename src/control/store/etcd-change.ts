/**
 * One attempt at a store change on etcd: what it read (the revision and the chain head), and the writes it will
 * commit together (objects, history records, chain entries); etcd-writes.ts commits them with a compare-and-swap.
 */
import type { ResourceKey } from '../../config/resource.js';
import { sealEntry } from './audit-chain.js';
import { PreparedContent } from './audit-prepared.js';
import type { AuditContent, AuditEntry } from './audit-chain.js';
import type { HistoryRecord } from './etcd-feed.js';
import { entryKey, historyKey } from './etcd-keys.js';
import { jsonDiff } from './json-diff.js';
import { canonicalJson, contentSha256 } from './resource-content.js';
import type { Actor, AuditActor, AuditVerb, StoreEvent, StoredResource } from './types.js';

export interface Head {
  seq: number;
  hash: string;
}

function actorOf(actor: Actor): AuditActor {
  return typeof actor === 'string' ? { name: actor } : actor;
}

/** One attempt at a change: what it read, and the writes it will commit together. */
export class Attempt {
  readonly puts: [string, string][] = [];
  readonly deletes: string[] = [];
  readonly events: StoreEvent[] = [];
  revision: number;
  head: Head;
  constructor(revision: number, head: Head) {
    this.revision = revision;
    this.head = head;
  }
  chain(content: AuditContent | PreparedContent, time: string): AuditEntry {
    const seq = this.head.seq + 1;
    if (content instanceof PreparedContent) {
      // Its stored form written from the prepared text: each attempt of a batch seals it again.
      const { entry, stored } = content.sealStored(seq, time, this.head.hash);
      this.head = { seq: entry.seq, hash: entry.hash };
      this.puts.push([entryKey(entry.seq), stored]);
      return entry;
    }
    const sealed = sealEntry(content, seq, time, this.head.hash);
    this.head = { seq: sealed.seq, hash: sealed.hash };
    // Stored as plain JSON: readers parse it and the hash is over the canonical form, which sealing already made
    // once; making it twice was half the cost of recording each push and ACK.
    this.puts.push([entryKey(sealed.seq), JSON.stringify(sealed)]);
    return sealed;
  }

}


/** The change's chain entry and history record, in the change's transaction. */
export function recordChange(tx: Attempt, revision: number, time: string, actor: Actor, verb: AuditVerb, key: ResourceKey, before: StoredResource | undefined, after: StoredResource | undefined): void {
  const who = actorOf(actor);
  const oldSha256 = before === undefined ? null : contentSha256(before);
  const newSha256 = after === undefined ? null : contentSha256(after);
  const diff = after === undefined ? [] : before === undefined ? [{ op: 'add' as const, path: '', value: after }] : jsonDiff(before, after);
  tx.chain({ type: 'change', actor: who, verb, key, revision, oldSha256, newSha256, diff }, time);
  const record: HistoryRecord = { revision, key, time, actor: who, verb, contentSha256: newSha256, body: after ?? null };
  if (verb === 'delete' && before !== undefined) record.before = before;
  tx.puts.push([historyKey(revision), canonicalJson(record)]);
}
