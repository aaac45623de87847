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
 *
 * A section whose hash is made from its parts' hashes (outbound sections, from their services') writes its bytes
 * only when a stream needs them whole, and holds them weakly: a change reaches connected proxies as deltas, which
 * never read a section's bytes, so with a Sidecar per workload a change no longer joins, encodes and hashes a
 * thousand sections, and the bytes written to proxies as they connected do not stay beside every connection for
 * good. A stream writing them holds them until written; the next one to need them may write them again.
 */
export class SharedSection<T> {
  /** Sections hashed by their bytes: kept for as long as the section. */
  readonly #bytes: Buffer | undefined;
  /** Sections hashed by parts: the bytes last written, while some stream still holds them. */
  #written: WeakRef<Buffer> | undefined;
  readonly #json: (() => string) | undefined;
  /** sha256 of the bytes, hex; or, for a section made with `lazySharedSection`, of its parts (see there). */
  readonly hash: string;

  constructor(
    readonly value: T,
    json: string | (() => string),
    hashOfParts?: string,
  ) {
    if (typeof json === 'string') {
      this.#bytes = bytesOf(json);
      this.hash = hash('sha256', this.#bytes, 'hex');
    } else {
      this.#json = json;
      this.hash = hashOfParts as string;
    }
  }

  get bytes(): Buffer {
    if (this.#bytes !== undefined) return this.#bytes;
    let bytes = this.#written?.deref();
    if (bytes === undefined) {
      bytes = bytesOf((this.#json as () => string)());
      this.#written = new WeakRef(bytes);
    }
    return bytes;
  }

  /** True while a section hashed by parts holds no bytes (none written yet, or collected since): for tests. */
  get unwritten(): boolean {
    return this.#bytes === undefined && this.#written?.deref() === undefined;
  }

  /** sha256 of the bytes, hex: `hash` itself, unless the section is hashed by its parts (old audit digests name it so). */
  get bytesSha256(): string {
    return this.#bytes !== undefined ? this.hash : hash('sha256', this.bytes, 'hex');
  }

  /** The section's JSON text, decoded again: for tests and tools; the push path writes `bytes`. */
  get json(): string {
    return this.bytes.toString('utf8');
  }
}

// Off Node's Buffer pool: a section shorter than 4 KiB would otherwise be a slice of an 8 KiB pool slab, and a
// section lives for as long as its snapshot is used, holding the whole slab (with 2,000 proxies connected, 575
// slabs were held by sections).
function bytesOf(json: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(json, 'utf8'));
  bytes.write(json, 'utf8');
  return bytes;
}

export function sharedSection<T>(value: T): SharedSection<T> {
  return new SharedSection(value, JSON.stringify(value));
}

/**
 * A shared section identified by `hashOfParts`, which must bind its exact JSON as a hash of the JSON would (a hash
 * over the hashes of the pieces the JSON is made of, each of fixed length, and the rest of the text). `json` writes
 * the JSON (exactly `JSON.stringify(value)`) when a stream first needs the bytes.
 */
export function lazySharedSection<T>(value: T, hashOfParts: string, json: () => string): SharedSection<T> {
  return new SharedSection(value, json, hashOfParts);
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
