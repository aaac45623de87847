/**
 * What a change leaves behind in SQLite besides the object itself: its audit chain entry (who, what, the hashes
 * before and after, the diff) and its history row, written in the change's own transaction.
 */
import type { ResourceKey } from '../../config/resource.js';
import { jsonDiff } from './json-diff.js';
import { contentSha256 } from './resource-content.js';
import type { SqliteAuditChain } from './sqlite-audit-chain.js';
import type { SqliteHistory } from './sqlite-history.js';
import type { Actor, AuditActor, AuditVerb, StoredResource } from './types.js';

export interface SqliteChange {
  revision: number;
  time: string;
  actor: Actor;
  verb: AuditVerb;
  key: ResourceKey;
  before: StoredResource | undefined;
  after: StoredResource | undefined;
}

function actorOf(actor: Actor): AuditActor {
  return typeof actor === 'string' ? { name: actor } : actor;
}

export function recordChange(chain: SqliteAuditChain, history: SqliteHistory, c: SqliteChange): void {
  const who = actorOf(c.actor);
  const oldSha256 = c.before === undefined ? null : contentSha256(c.before);
  const newSha256 = c.after === undefined ? null : contentSha256(c.after);
  const diff =
    c.after === undefined ? [] : c.before === undefined ? [{ op: 'add' as const, path: '', value: c.after }] : jsonDiff(c.before, c.after);
  chain.append({ type: 'change', actor: who, verb: c.verb, key: c.key, revision: c.revision, oldSha256, newSha256, diff }, c.time);
  history.record({ revision: c.revision, key: c.key, time: c.time, actor: who, verb: c.verb, contentSha256: newSha256, body: c.after });
}
