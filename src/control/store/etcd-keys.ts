/**
 * Where the etcd backend keeps things, under the store's prefix (one prefix per mesh). Numbers in keys are
 * zero-padded so that etcd's byte order is numeric order, which range reads and the watch rely on.
 *
 *   meta/revision            the store's revision (its own counter: one per change, not etcd's per transaction)
 *   meta/history-floor       retention's floor
 *   resources/<k>/<ns>/<n>   the current body of each object (segments URI-encoded)
 *   history/<revision>       one record per change: who, when, how, the body after it (and before, for a delete)
 *   audit/head               {seq, hash} of the newest chain entry: every append compares-and-swaps it
 *   audit/entries/<seq>      chain entries, as sealed
 *   tokens/<id>              bootstrap token records
 *   credentials/<name>       API credential records; credential-ids/<id> names the record a secret's id finds
 *   jwks/docs/<uri>          JWKS documents the leading replica fetched; jwks/refresh/<uri> asks it to refetch (etcd-jwks.ts)
 *   sealed/<name>            shared secrets, sealed (etcd-replication.ts); election/leader/... the leader lease
 */
import type { ResourceKey } from '../../config/resource.js';
import type { ResourceFilter } from './types.js';

const WIDTH = 16;

export function padded(n: number): string {
  return String(n).padStart(WIDTH, '0');
}

export const KEYS = {
  revision: 'meta/revision',
  historyFloor: 'meta/history-floor',
  resources: 'resources/',
  history: 'history/',
  auditHead: 'audit/head',
  auditEntries: 'audit/entries/',
  tokens: 'tokens/',
  credentials: 'credentials/',
  credentialIds: 'credential-ids/',
} as const;

export function resourceKey(key: ResourceKey): string {
  return `${KEYS.resources}${encodeURIComponent(key.kind)}/${encodeURIComponent(key.namespace)}/${encodeURIComponent(key.name)}`;
}

/** The narrowest key prefix holding every object the filter can match. */
export function resourcePrefix(filter: ResourceFilter): string {
  if (filter.kind === undefined) return KEYS.resources;
  const kind = `${KEYS.resources}${encodeURIComponent(filter.kind)}/`;
  return filter.namespace === undefined ? kind : `${kind}${encodeURIComponent(filter.namespace)}/`;
}

export function historyKey(revision: number): string {
  return `${KEYS.history}${padded(revision)}`;
}

export function entryKey(seq: number): string {
  return `${KEYS.auditEntries}${padded(seq)}`;
}

/** The key just after every key starting with `prefix` (etcd's range end for a prefix). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
