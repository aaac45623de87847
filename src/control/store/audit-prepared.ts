/**
 * Audit events prepared for sealing: each event's canonical form written once, so that sealing it at a place in
 * the chain costs a hash and not a canonical form of the whole entry. An etcd append that loses its
 * compare-and-swap to another replica seals its batch again at the new head, and a push record's compile inputs
 * (the proxy's identity, and in entries before settings entries the mesh settings) are most of its bytes. `seal` gives
 * exactly what audit-chain.ts `sealEntry` gives: the test compares them on every kind of entry.
 */
import { hash } from 'node:crypto';
import type { AuditContent, AuditEntry } from './audit-chain.js';
import { canonicalJson } from './resource-content.js';

/** The members sealing adds; content never has them (a content member of that name would be replaced). */
const PLACE_MEMBERS: ReadonlySet<string> = new Set(['seq', 'time', 'prev', 'hash']);
/** Integer-like keys come first in a JS object whatever order they were written in: left to canonicalJson. */
const INTEGER_KEY = /^(0|[1-9]\d*)$/;

/**
 * Canonical JSON of objects met more than once while preparing one batch (null: met once so far). The batch is
 * prepared in one synchronous pass, so no object can change between two events that share it; the cache is dropped
 * with the batch. An object's text is kept only from its second meeting: most objects belong to one event (a push
 * record's own inputs, whose text holds the mesh settings' text again), and keeping theirs kept them alive until the
 * batch ended, long enough for V8 to move them to the old generation: recording a push to 2,000 proxies moved 5.3
 * MiB there, now 3.2.
 */
export type CanonicalCache = Map<object, string | null>;

/** resource-content.ts `canonicalJson`, with each plain object's text taken from `cache`, and left there from its second meeting. */
function canonicalCached(value: unknown, cache: CanonicalCache): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson(value) as string | undefined;
  }
  const known = cache.get(value);
  if (typeof known === 'string') return known;
  const keys = Object.keys(value);
  let json: string;
  if (keys.some((k) => INTEGER_KEY.test(k))) json = canonicalJson(value);
  else {
    const members: string[] = [];
    for (const k of keys.sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const text = canonicalCached(v, cache);
      if (text !== undefined) members.push(`${JSON.stringify(k)}:${text}`);
    }
    json = `{${members.join(',')}}`;
  }
  cache.set(value, known === undefined ? null : json);
  return json;
}

export class PreparedContent {
  /** Canonical JSON of each member, in canonical key order; undefined where the canonical form cannot be split. */
  readonly #members: [string, string][] | undefined;
  /** Whether the stored form can be written from `JSON.stringify(content)` (no member sealing replaces). */
  readonly #storedFromContent: boolean = false;
  /** `JSON.stringify(content)` without its closing brace, made at the first `sealStored` (SQLite never asks). */
  #stored: string | undefined;

  constructor(
    readonly content: AuditContent,
    cache: CanonicalCache = new Map(),
  ) {
    const all = Object.keys(content);
    const keys = all.filter((k) => !PLACE_MEMBERS.has(k));
    if (keys.some((k) => INTEGER_KEY.test(k))) return;
    // Sealing appends seq, time, prev and hash after the content's own members (sealEntry's spread does the same
    // only when the content has none of them).
    this.#storedFromContent = keys.length === all.length && keys.length > 0;
    const members: [string, string][] = [];
    for (const k of keys.sort()) {
      const v = (content as unknown as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const json = canonicalCached(v, cache);
      if (json !== undefined) members.push([k, `${JSON.stringify(k)}:${json}`]);
    }
    this.#members = members;
  }

  /** The entry sealed at `seq` after `prev`, and its stored form (exactly `JSON.stringify(entry)`). */
  sealStored(seq: number, time: string, prev: string): { entry: AuditEntry; stored: string } {
    const entry = this.seal(seq, time, prev);
    if (this.#storedFromContent) this.#stored ??= JSON.stringify(this.content).slice(0, -1);
    const stored =
      this.#stored === undefined
        ? JSON.stringify(entry)
        : `${this.#stored},"seq":${JSON.stringify(seq)},"time":${JSON.stringify(time)},"prev":${JSON.stringify(prev)},"hash":${JSON.stringify(entry.hash)}}`;
    return { entry, stored };
  }

  seal(seq: number, time: string, prev: string): AuditEntry {
    return this.sealCanonical(seq, time, prev).entry;
  }

  /** The entry sealed at `seq` after `prev`, and the canonical text its hash is over (what SQLite stores). */
  sealCanonical(seq: number, time: string, prev: string): { entry: AuditEntry; canonical: string } {
    if (this.#members === undefined) {
      const unsealed = { ...this.content, seq, time, prev };
      const canonical = canonicalJson(unsealed);
      return { entry: { ...unsealed, hash: hash('sha256', canonical, 'hex') } as AuditEntry, canonical };
    }
    // seq, time and prev among the members, in the canonical (sorted) key order.
    const place: [string, string][] = [
      ['prev', `"prev":${JSON.stringify(prev)}`],
      ['seq', `"seq":${JSON.stringify(seq)}`],
      ['time', `"time":${JSON.stringify(time)}`],
    ];
    const parts: string[] = [];
    let i = 0;
    for (const [k, text] of this.#members) {
      while (i < place.length && (place[i] as [string, string])[0] < k) parts.push((place[i++] as [string, string])[1]);
      parts.push(text);
    }
    while (i < place.length) parts.push((place[i++] as [string, string])[1]);
    const canonical = `{${parts.join(',')}}`;
    return { entry: { ...this.content, seq, time, prev, hash: hash('sha256', canonical, 'hex') } as AuditEntry, canonical };
  }
}
