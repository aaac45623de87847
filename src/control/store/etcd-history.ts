/**
 * History and audit-chain reads and retention for the etcd backend, with the same answers as sqlite-history.ts and
 * sqlite-audit-chain.ts give (the conformance suite holds both to them). etcd has no query language, so these read
 * a key range and select in memory; the ranges are the store's own records, read at one etcd revision each.
 */
import type { Namespace } from 'etcd3';
import type { ResourceKey } from '../../config/resource.js';
import { resourceKeyString } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import type { AuditEntry, AuditLogFilter } from './audit-chain.js';
import { parseHistory } from './etcd-feed.js';
import type { HistoryRecord } from './etcd-feed.js';
import { KEYS, entryKey, historyKey, prefixEnd } from './etcd-keys.js';
import type { AuditFilter, AuditRecord, ResourceFilter, ResourceRevision, StoredResource } from './types.js';
import { MAX_AUDIT_PAGE } from './types.js';

/** Deletes per transaction when retention removes records (well under the members' --max-txn-ops). */
const PRUNE_BATCH = 1000;

export function byKeyOrder(a: StoredResource, b: StoredResource): number {
  const ka = [a.kind, a.metadata.namespace, a.metadata.name];
  const kb = [b.kind, b.metadata.namespace, b.metadata.name];
  for (let i = 0; i < 3; i++) {
    const x = ka[i] as string;
    const y = kb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

function sameKey(a: ResourceKey, b: ResourceKey): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

async function records(ns: Namespace, upTo?: number): Promise<HistoryRecord[]> {
  const end = upTo === undefined ? prefixEnd(KEYS.history) : historyKey(upTo + 1);
  const res = await ns.getAll().inRange({ start: KEYS.history, end }).exec();
  return res.kvs.map(parseHistory);
}

export async function historyFloor(ns: Namespace): Promise<number> {
  return Number((await ns.get(KEYS.historyFloor).string()) ?? 0);
}

async function checkReadable(ns: Namespace, revision: number, current: number): Promise<void> {
  if (!Number.isInteger(revision) || revision < 0 || revision > current) {
    throw new WeftError('BAD_REQUEST', `revision ${revision} is not between 0 and the current revision ${current}`, { status: 400 });
  }
  const floor = await historyFloor(ns);
  if (revision < floor) {
    throw new WeftError('HISTORY_PRUNED', `revisions before ${floor} are no longer kept (history retention)`, {
      status: 410,
      detail: { floor },
    });
  }
}

/** Each object's newest record at or before `revision`. */
function newestPerKey(rs: readonly HistoryRecord[]): Map<string, HistoryRecord> {
  const newest = new Map<string, HistoryRecord>();
  for (const r of rs) newest.set(resourceKeyString(r.key), r);
  return newest;
}

export async function historyOf(ns: Namespace, key: ResourceKey): Promise<ResourceRevision[]> {
  return (await records(ns))
    .filter((r) => sameKey(r.key, key))
    .map((r) => ({ revision: r.revision, time: r.time, actor: r.actor, verb: r.verb, key, resource: r.body, contentSha256: r.contentSha256 }));
}

export async function listAt(ns: Namespace, filter: ResourceFilter, revision: number, current: number): Promise<StoredResource[]> {
  await checkReadable(ns, revision, current);
  const out: StoredResource[] = [];
  for (const r of newestPerKey(await records(ns, revision)).values()) {
    if (r.body === null) continue;
    if (filter.kind !== undefined && r.key.kind !== filter.kind) continue;
    if (filter.namespace !== undefined && r.key.namespace !== filter.namespace) continue;
    out.push(r.body);
  }
  return out.sort(byKeyOrder);
}

export async function getAt(ns: Namespace, key: ResourceKey, revision: number, current: number): Promise<StoredResource | undefined> {
  await checkReadable(ns, revision, current);
  const mine = (await records(ns, revision)).filter((r) => sameKey(r.key, key));
  return mine.at(-1)?.body ?? undefined;
}

/** Never lowers the floor. The floor is written first, so no reader is served a revision whose records are going. */
export async function pruneHistory(ns: Namespace, floor: number, current: number): Promise<number> {
  const kept = Math.max(await historyFloor(ns), Math.min(floor, current));
  await ns.put(KEYS.historyFloor).value(String(kept)).exec();
  const upTo = await records(ns, kept);
  const newest = newestPerKey(upTo);
  const doomed = upTo
    .filter((r) => (r.verb === 'delete' ? true : r.revision < kept && newest.get(resourceKeyString(r.key)) !== r))
    .map((r) => historyKey(r.revision));
  for (let i = 0; i < doomed.length; i += PRUNE_BATCH) {
    const ops = doomed.slice(i, i + PRUNE_BATCH).map((k) => ns.delete().key(k));
    await ns.if(KEYS.historyFloor, 'Value', '==', String(kept)).then(...ops).commit();
  }
  return kept;
}

async function chain(ns: Namespace, afterSeq = 0): Promise<AuditEntry[]> {
  const res = await ns.getAll().inRange({ start: entryKey(afterSeq + 1), end: prefixEnd(KEYS.auditEntries) }).exec();
  return res.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as AuditEntry);
}

export async function auditTail(ns: Namespace): Promise<AuditEntry | undefined> {
  const res = await ns.getAll().prefix(KEYS.auditEntries).sort('Key', 'Descend').limit(1).exec();
  const kv = res.kvs[0];
  return kv === undefined ? undefined : (JSON.parse(kv.value.toString('utf8')) as AuditEntry);
}

export async function auditLog(ns: Namespace, filter: AuditLogFilter): Promise<AuditEntry[]> {
  const limit = Math.max(0, Math.min(filter.limit ?? MAX_AUDIT_PAGE, MAX_AUDIT_PAGE));
  const all = await chain(ns, filter.afterSeq ?? 0);
  let afterSeq = 0;
  if (filter.sinceRevision !== undefined) {
    const from = filter.afterSeq === undefined ? all : await chain(ns);
    for (const e of from) if (e.type === 'change' && e.revision <= filter.sinceRevision) afterSeq = Math.max(afterSeq, e.seq);
  }
  return all
    .filter(
      (e) =>
        e.seq > afterSeq &&
        (filter.sinceTime === undefined || e.time >= filter.sinceTime) &&
        (filter.type === undefined || e.type === filter.type) &&
        (filter.resourceKind === undefined || (e.type === 'change' && e.key.kind === filter.resourceKind)),
    )
    .slice(0, limit);
}

export async function auditChanges(ns: Namespace, filter: AuditFilter): Promise<AuditRecord[]> {
  const limit = Math.max(0, Math.min(filter.limit ?? MAX_AUDIT_PAGE, MAX_AUDIT_PAGE));
  const out: AuditRecord[] = [];
  for (const e of await chain(ns)) {
    if (out.length >= limit) break;
    if (e.type !== 'change' || e.revision <= (filter.since ?? 0)) continue;
    out.push({ revision: e.revision, time: e.time, actor: e.actor.name, verb: e.verb, key: e.key, contentSha256: e.newSha256 });
  }
  return out;
}

export async function revisionAt(ns: Namespace, time: string): Promise<number> {
  let revision = 0;
  for (const e of await chain(ns)) if (e.type === 'change' && e.time <= time) revision = Math.max(revision, e.revision);
  return revision;
}
