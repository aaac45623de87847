/**
 * The store's resources held in memory and kept current from its watch, for the compile that runs after every
 * change: without it each change re-read every object from the store (on etcd, one range read of the whole mesh
 * and a JSON parse of every object, on every replica) although the watch had already delivered what changed.
 * istiod keeps its informers' caches the same way and rebuilds its push context from them, not from the API server.
 *
 * The watch is registered before the first read, so no change falls between the two; changes that arrive during a
 * read are applied after it, each only if it is newer than the object read (an object's resourceVersion is the
 * revision of its last change). Every change bumps the revision by one and is delivered in order, so a change whose
 * revision skips one means some were missed (a watch that could not catch up): the mirror then reads the store
 * whole again before it is next used. Objects are frozen: every compile shares them, none may edit them.
 */
import { resourceKeyString } from '../../config/resource.js';
import { byKeyOrder } from './etcd-history.js';
import type { ResourceStore, StoreEvent, StoredResource } from './types.js';

export class ResourceMirror {
  readonly #store: ResourceStore;
  readonly #byKey = new Map<string, StoredResource>();
  /** The objects in the store's list order; undefined after a change until next asked for. */
  #sorted: StoredResource[] | undefined;
  #revision = 0;
  /** A read of the whole store is due (at start, or after missed changes). */
  #stale = true;
  /** The read under way, and the changes that arrived during it. */
  #loading: Promise<void> | undefined;
  #during: StoreEvent[] = [];
  readonly #unwatch: () => void;
  /** Whole reads of the store so far (the first included); tests read it. */
  reads = 0;

  constructor(store: ResourceStore) {
    this.#store = store;
    this.#unwatch = store.watch((e) => this.#changed(e));
  }

  /** The store's revision as of the objects `list` returns. */
  async revision(): Promise<number> {
    await this.#current();
    return this.#revision;
  }

  /** Every object, ordered as the store lists them (kind, namespace, name). Shared and frozen: never edit them. */
  async list(): Promise<readonly StoredResource[]> {
    await this.#current();
    this.#sorted ??= [...this.#byKey.values()].sort(byKeyOrder);
    return this.#sorted;
  }

  /**
   * Every object as of at least the store's revision when called: what admission needs, since it must see a write
   * just made here or by another replica. The watch has usually delivered it already; if not, the store is read
   * whole, as admission did on every apply before.
   */
  async listLatest(): Promise<readonly StoredResource[]> {
    const revision = await this.#store.revision();
    await this.#current();
    if (this.#revision < revision) this.#stale = true;
    return this.list();
  }

  close(): void {
    this.#unwatch();
  }

  async #current(): Promise<void> {
    while (this.#stale || this.#loading !== undefined) {
      this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
      await this.#loading;
    }
  }

  async #load(): Promise<void> {
    this.#stale = false;
    this.#during = [];
    this.reads++;
    // The revision first: the list then holds at least its changes, and the watch brings any later ones.
    const revision = await this.#store.revision();
    const all = await this.#store.list();
    this.#byKey.clear();
    for (const r of all) this.#byKey.set(keyOf(r), deepFreeze(r));
    this.#revision = revision;
    this.#sorted = undefined;
    const during = this.#during;
    this.#during = [];
    for (const e of during) this.#apply(e);
  }

  #changed(e: StoreEvent): void {
    if (this.#loading !== undefined) this.#during.push(e);
    else if (!this.#stale) this.#apply(e);
  }

  #apply(e: StoreEvent): void {
    if (e.revision > this.#revision + 1) {
      // Changes between were never delivered: read everything again rather than compile from a partial view.
      this.#stale = true;
      return;
    }
    const key = keyOf(e.resource);
    const held = this.#byKey.get(key);
    const heldAt = held === undefined ? 0 : Number(held.metadata.resourceVersion);
    // A copy: other listeners get the same event object, and it is theirs to keep as it is.
    if (e.type === 'put' && heldAt < e.revision) this.#byKey.set(key, deepFreeze(structuredClone(e.resource)));
    if (e.type === 'delete' && held !== undefined && heldAt <= e.revision) this.#byKey.delete(key);
    this.#revision = Math.max(this.#revision, e.revision);
    this.#sorted = undefined;
  }
}

function keyOf(r: StoredResource): string {
  return resourceKeyString({ kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name });
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
