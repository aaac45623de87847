/**
 * Compile results that many proxies share, computed once per snapshot: a snapshot is immutable, so a result keyed
 * by it and by the inputs it depends on is the same for every proxy that asks. Results are shared objects: callers
 * must not mutate them.
 */
import { hash } from 'node:crypto';
import type { MeshSnapshot } from './snapshot.js';

const memos = new WeakMap<object, Map<string, unknown>>();

function memoOf<T>(owner: object, key: string, make: () => T): T {
  let memo = memos.get(owner);
  if (!memo) {
    memo = new Map();
    memos.set(owner, memo);
  }
  if (memo.has(key)) return memo.get(key) as T;
  const value = make();
  memo.set(key, value);
  return value;
}

export function perSnapshot<T>(snap: MeshSnapshot, key: string, make: () => T): T {
  return memoOf(snap, key, make);
}

/** An epoch's results, each with the last snapshot that used it. */
interface EpochMemo {
  entries: Map<string, { value: unknown; usedBy: MeshSnapshot }>;
  /** The snapshot that used the memo last. */
  current: MeshSnapshot | undefined;
}

const epochMemos = new WeakMap<object, EpochMemo>();

/**
 * Results that outlive a snapshot: the same for every snapshot of one policy epoch (policy-epoch.ts), i.e. while
 * every input but the Services and Workloads is unchanged. A result kept here may depend on the policy inputs and
 * on what its key (or the registry object it is filed under) names, never on the rest of the registry. A snapshot
 * without an epoch (one not made by buildSnapshot) is its own.
 *
 * An epoch can last as long as the policy does, while workloads come and go with label sets of their own: a result
 * no proxy of the last snapshot used is dropped when the next snapshot starts using the memo, so what is kept is
 * bounded by what two snapshots use.
 */
export function perEpoch<T>(snap: MeshSnapshot, key: string, make: () => T): T {
  const epoch = epochOf(snap);
  let memo = epochMemos.get(epoch);
  if (!memo) {
    memo = { entries: new Map(), current: snap };
    epochMemos.set(epoch, memo);
  }
  if (memo.current !== snap) {
    const last = memo.current;
    for (const [k, e] of memo.entries) if (e.usedBy !== last) memo.entries.delete(k);
    memo.current = snap;
  }
  const held = memo.entries.get(key);
  if (held !== undefined) {
    held.usedBy = snap;
    return held.value as T;
  }
  const value = make();
  memo.entries.set(key, { value, usedBy: snap });
  return value;
}

const epochs = new WeakMap<MeshSnapshot, object>();

export function epochOf(snap: MeshSnapshot): object {
  return epochs.get(snap) ?? snap;
}

export function setEpoch(snap: MeshSnapshot, epoch: object): void {
  epochs.set(snap, epoch);
}

/**
 * A config section shared by many proxies, serialised and hashed once. Only its bytes are kept, the form every
 * stream writes: its text as a string beside them doubled what a thousand Sidecars' sections held (about 6 KB each).
 */
export class SharedSection<T> {
  readonly bytes: Buffer;
  /** sha256 of the bytes, hex. */
  readonly hash: string;

  constructor(
    readonly value: T,
    json: string,
  ) {
    // Off Node's Buffer pool: a section shorter than 4 KiB would otherwise be a slice of an 8 KiB pool slab, and a
    // section lives for as long as its snapshot is used, holding the whole slab (with 2,000 proxies connected, 575
    // slabs were held by sections).
    this.bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json, 'utf8'));
    this.bytes.write(json, 'utf8');
    this.hash = hash('sha256', this.bytes, 'hex');
  }

  /** The section's JSON text, decoded again: for tests and tools; the push path writes `bytes`. */
  get json(): string {
    return this.bytes.toString('utf8');
  }
}

export function sharedSection<T>(value: T): SharedSection<T> {
  return new SharedSection(value, JSON.stringify(value));
}

/** A shared section whose JSON the caller wrote; it must be exactly `JSON.stringify(value)`. */
export function sharedSectionOfJson<T>(value: T, json: string): SharedSection<T> {
  return new SharedSection(value, json);
}

/** JSON text of compiled objects shared between sections, written once per object (they are never mutated). */
const jsonTexts = new WeakMap<object, string>();

export function jsonOf(value: object): string {
  let json = jsonTexts.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    jsonTexts.set(value, json);
  }
  return json;
}

/** A stable key for a label set, whatever the order its keys were written in. */
export function labelSetKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
