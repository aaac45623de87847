/**
 * The control plane's store contract. Every method is async so that a networked backend (etcd) can implement
 * the same contract as the embedded SQLite one; both must pass `store.conformance.ts`.
 *
 * Semantics shared by every backend:
 * - one global revision counter; every change (create, update, delete, status) bumps it by one, and the
 *   changed object's `resourceVersion` is the revision of its last change;
 * - applying an object whose apiVersion, spec, labels and annotations equal the stored ones is `unchanged`
 *   and bumps nothing;
 * - `apply` and `delete` are all-or-nothing: one failing item leaves the store exactly as it was;
 * - the audit record of a change is written in the same transaction as the change;
 * - watch listeners see committed changes only, in revision order.
 */
import type { ObjectMeta, Resource, ResourceKey } from '../../config/resource.js';

export interface StoredResource<Spec = unknown, Status = unknown> extends Resource<Spec, Status> {
  metadata: ObjectMeta & { resourceVersion: string; creationTimestamp: string };
}

export interface StoreEvent {
  revision: number;
  type: 'put' | 'delete';
  /** For a delete: the object as it was just before it was deleted. */
  resource: StoredResource;
}

export type ApplyResult = 'created' | 'configured' | 'unchanged';

export interface ApplyOutcome {
  key: ResourceKey;
  result: ApplyResult;
  resource: StoredResource;
}

export type AuditVerb = 'create' | 'update' | 'delete' | 'status';

export interface AuditRecord {
  revision: number;
  /** ISO-8601 time of the change, from the store's clock. */
  time: string;
  actor: string;
  verb: AuditVerb;
  key: ResourceKey;
  /** SHA-256 (hex) of the object's canonical JSON after the change; null for a delete. */
  contentSha256: string | null;
}

/** An API call refused for want of a permission: who asked, for what, and which permission was missing. */
export interface RefusalInput {
  actor: string;
  /** The API verb refused (get, list, watch, create, update, delete). */
  verb: string;
  /** What the call was about; namespace `*` for a cluster-wide request, name empty when it named no object. */
  key: ResourceKey;
  /** The missing permission, as the 403 answer stated it. */
  reason: string;
}

export interface RefusalRecord extends RefusalInput {
  /** Position among refusals, from 1. */
  seq: number;
  /** ISO-8601 time of the refusal, from the store's clock. */
  time: string;
}

export interface ResourceFilter {
  kind?: string;
  namespace?: string;
}

export interface AuditFilter {
  /** Only records with a revision greater than this. */
  since?: number;
  /** At most this many records (oldest first); backends cap it at MAX_AUDIT_PAGE. */
  limit?: number;
}

export const MAX_AUDIT_PAGE = 1000;

export type StoreListener = (event: StoreEvent) => void;

export interface ResourceStore {
  revision(): Promise<number>;
  list(filter?: ResourceFilter): Promise<StoredResource[]>;
  get(key: ResourceKey): Promise<StoredResource | undefined>;
  /** All-or-nothing, one transaction. A key given twice in one call is BAD_REQUEST. */
  apply(resources: Resource[], actor: string): Promise<ApplyOutcome[]>;
  /** All-or-nothing; NOT_FOUND (nothing deleted) if any key is missing. Returns the deleted objects. */
  delete(keys: ResourceKey[], actor: string): Promise<StoredResource[]>;
  /** Replaces the object's status; a change like any other (revision, watch, audit). NOT_FOUND if missing. */
  setStatus(key: ResourceKey, status: unknown, actor: string): Promise<StoredResource>;
  audit(filter?: AuditFilter): Promise<AuditRecord[]>;
  /** Records a refused call; it changes no resource, so it bumps no revision and wakes no watcher. */
  recordRefusal(refusal: RefusalInput): Promise<RefusalRecord>;
  /** Refusals oldest first; `since` and `limit` count in `seq`, capped like audit pages. */
  refusals(filter?: AuditFilter): Promise<RefusalRecord[]>;
  /** Returns the function that stops this listener. */
  watch(listener: StoreListener): () => void;
  close(): Promise<void>;
}

/** Injected time, in milliseconds since the epoch. */
export type Clock = () => number;
