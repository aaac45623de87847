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
 * - the audit record of a change is written in the same transaction as the change, as the next entry of one
 *   hash chain (audit-chain.ts) that also holds refused calls, config pushes and signed chain heads;
 * - every revision of every object is kept in history (until pruned by retention), so the state at any
 *   revision can be read back; pruning removes bodies from history, never entries from the chain;
 * - watch listeners see committed changes only, in revision order.
 */
import type { ObjectMeta, Resource, ResourceKey } from '../../config/resource.js';
import type { TokenStore } from '../../identity/bootstrap-token.js';
import type { AuditEntry, AuditEvent, AuditLogFilter } from './audit-chain.js';
import type { CredentialRecords } from './credential-records.js';

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

/** Who made a change: the principal's name and, when a credential was used, that credential's id. */
export interface AuditActor {
  name: string;
  credentialId?: string;
  /** Admission's error codes this change was forced past (`weft apply --force`). */
  forced?: string[];
}

/** A bare string is a principal with no credential (the runtime, a test). */
export type Actor = string | AuditActor;

/** One revision of one object in history: who changed it, when, how, and its body after the change. */
export interface ResourceRevision {
  revision: number;
  time: string;
  actor: AuditActor;
  verb: AuditVerb;
  key: ResourceKey;
  /** The object after the change; null for a delete. */
  resource: StoredResource | null;
  /** SHA-256 of the body after the change (null for a delete). */
  contentSha256: string | null;
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
  apply(resources: Resource[], actor: Actor): Promise<ApplyOutcome[]>;
  /** All-or-nothing; NOT_FOUND (nothing deleted) if any key is missing. Returns the deleted objects. */
  delete(keys: ResourceKey[], actor: Actor): Promise<StoredResource[]>;
  /** Replaces the object's status; a change like any other (revision, watch, audit). NOT_FOUND if missing. */
  setStatus(key: ResourceKey, status: unknown, actor: Actor): Promise<StoredResource>;
  /** The change records (one per revision), as before the chain existed. */
  audit(filter?: AuditFilter): Promise<AuditRecord[]>;
  /** Appends a refused call, a config push or ACK/NACK, or a signed head to the audit chain. */
  appendAudit(event: AuditEvent): Promise<AuditEntry>;
  /** The newest chain entry, or undefined for an empty chain. */
  auditTail(): Promise<AuditEntry | undefined>;
  /** Chain entries in chain order, as stored (never recomputed), so a reader can verify them. */
  auditLog(filter?: AuditLogFilter): Promise<AuditEntry[]>;
  /** Every kept revision of one object, oldest first (deleted objects included). */
  history(key: ResourceKey): Promise<ResourceRevision[]>;
  /** The object as it was at `revision`: undefined if it did not exist then. HISTORY_PRUNED before retention's floor. */
  getAt(key: ResourceKey, revision: number): Promise<StoredResource | undefined>;
  listAt(filter: ResourceFilter, revision: number): Promise<StoredResource[]>;
  /** The store's revision at `time` (ISO-8601): the last change made at or before it, 0 before any. */
  revisionAt(time: string): Promise<number>;
  /** Removes history bodies no longer needed to read any revision from `floor` on; returns the floor kept. */
  pruneHistory(floor: number): Promise<number>;
  /** Returns the function that stops this listener. */
  watch(listener: StoreListener): () => void;
  close(): Promise<void>;
}

/** Injected time, in milliseconds since the epoch. */
export type Clock = () => number;

/**
 * The whole store a control plane runs on: resources, history and the audit chain, plus bootstrap tokens and API
 * credentials, so every replica on a shared backend honours the same tokens (each once) and the same credentials.
 */
export interface ControlStore extends ResourceStore {
  readonly tokens: TokenStore;
  readonly credentials: CredentialRecords;
}
