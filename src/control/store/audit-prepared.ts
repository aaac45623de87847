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
/** The members sealing puts among the content's in the canonical text, in key order. */
const PLACE_ORDER = ['prev', 'seq', 'time'] as const;
/** Integer-like keys come first in a JS object whatever order they were written in: left to canonicalJson. */
const INTEGER_KEY = /^(0|[1-9]\d*)$/;

/**
 * An object's own keys in canonical (sorted) order, undefined when one is integer-like. A few keys are sorted in
 * place: Array.prototype.sort allocates work arrays of its own, which with 4,000 records a change (each config sent,
 * each ACK) was a fifth of what recording them allocated.
 */
function sortedKeys(value: object): string[] | undefined {
  const keys = Object.keys(value);
  for (const k of keys) {
    const c = k.charCodeAt(0);
    if (c >= 48 && c <= 57 && INTEGER_KEY.test(k)) return undefined;
  }
  if (keys.length > 32) return keys.sort();
  // In place, allocating nothing (keys already in order move none); `<` orders strings by UTF-16 code units, as
  // sort() does.
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    for (; j >= 0 && (keys[j] as string) > k; j--) keys[j + 1] = keys[j] as string;
    keys[j + 1] = k;
  }
  return keys;
}

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
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return canonicalJson(value) as string | undefined;
  }
  const known = cache.get(value);
  if (typeof known === 'string') return known;
  const keys = sortedKeys(value);
  let json: string;
  if (keys === undefined) json = canonicalJson(value);
  else {
    json = '{';
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const text = canonicalCached(v, cache);
      if (text !== undefined) json += `${json.length > 1 ? ',' : ''}${JSON.stringify(k)}:${text}`;
    }
    json += '}';
  }
  cache.set(value, known === undefined ? null : json);
  return json;
}

export class PreparedContent {
  /**
   * The canonical text of the content's members around where sealing puts prev, seq and time: the members sorting
   * before `prev`, between `prev` and `seq`, between `seq` and `time` (each followed by a comma), and after `time`
   * (each led by one). Undefined where the canonical form cannot be split.
   */
  readonly #segments: [string, string, string, string] | undefined;
  /** Whether the stored form can be written from `JSON.stringify(content)` (no member sealing replaces). */
  readonly #storedFromContent: boolean = false;
  /** `JSON.stringify(content)` without its closing brace, made at the first `sealStored` (SQLite never asks). */
  #stored: string | undefined;

  constructor(
    readonly content: AuditContent,
    cache: CanonicalCache = new Map(),
  ) {
    const keys = sortedKeys(content);
    if (keys === undefined) return;
    // Sealing appends seq, time and prev after the content's own members (sealEntry's spread does the same only when
    // the content has none of them).
    this.#storedFromContent = keys.length > 0 && !keys.some((k) => PLACE_MEMBERS.has(k));
    const segments: [string, string, string, string] = ['', '', '', ''];
    let slot = 0;
    for (const k of keys) {
      if (PLACE_MEMBERS.has(k)) continue;
      while (slot < PLACE_ORDER.length && (PLACE_ORDER[slot] as string) < k) slot++;
      const v = (content as unknown as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const json = canonicalCached(v, cache);
      if (json === undefined) continue;
      const member = `${JSON.stringify(k)}:${json}`;
      segments[slot] += slot === PLACE_ORDER.length ? `,${member}` : `${member},`;
    }
    this.#segments = segments;
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
    const s = this.#segments;
    if (s === undefined) {
      const unsealed = { ...this.content, seq, time, prev };
      const canonical = canonicalJson(unsealed);
      return { entry: { ...unsealed, hash: hash('sha256', canonical, 'hex') } as AuditEntry, canonical };
    }
    const canonical = `{${s[0]}"prev":${JSON.stringify(prev)},${s[1]}"seq":${JSON.stringify(seq)},${s[2]}"time":${JSON.stringify(time)}${s[3]}}`;
    // Object.assign, not a spread with the four members after it: V8 gives that spread's result a dictionary of its
    // own, 1.6 KB an entry against 0.2 (the same members, in the same order).
    return { entry: Object.assign({}, this.content, { seq, time, prev, hash: hash('sha256', canonical, 'hex') }) as AuditEntry, canonical };
  }
}
