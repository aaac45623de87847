/**
 * JWKS documents for RequestAuthentication `jwksUri`s, fetched by the control plane and pushed to proxies inline,
 * so proxies need no egress to reach an identity provider. Documents are refreshed on a schedule, retried with
 * backoff while they fail, and refetched at once when a proxy meets a key it does not know (rate-limited).
 */
import type { Clock } from '../clock.js';
import type { ControlLog } from './control-log.js';

export type JwksFetcher = (uri: string) => Promise<string>;

interface Entry {
  doc: string | undefined;
  timer: NodeJS.Timeout | undefined;
  failures: number;
  lastFetch: number;
  inFlight: boolean;
}

export interface JwksCacheOptions {
  fetch: JwksFetcher;
  /** Called when a document appears or changes: recompile and push. */
  onChange: () => void;
  clock: Clock;
  log: ControlLog;
  refreshMs?: number;
  /** A proxy-triggered refetch of the same URI happens at most this often. */
  minRefetchMs?: number;
}

const MAX_DOC_BYTES = 1024 * 1024;

export class JwksCache {
  #entries = new Map<string, Entry>();
  readonly #refreshMs: number;
  readonly #minRefetchMs: number;

  constructor(private readonly o: JwksCacheOptions) {
    this.#refreshMs = o.refreshMs ?? 20 * 60_000;
    this.#minRefetchMs = o.minRefetchMs ?? 2_000;
  }

  /** Documents by URI, for the compile snapshot. */
  documents(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [uri, e] of this.#entries) if (e.doc !== undefined) out.set(uri, e.doc);
    return out;
  }

  /** Keep exactly these URIs fresh: start fetching new ones, forget the rest. */
  track(uris: Set<string>): void {
    for (const [uri, e] of this.#entries) {
      if (uris.has(uri)) continue;
      clearTimeout(e.timer);
      this.#entries.delete(uri);
    }
    for (const uri of uris) {
      if (this.#entries.has(uri)) continue;
      this.#entries.set(uri, { doc: undefined, timer: undefined, failures: 0, lastFetch: 0, inFlight: false });
      void this.#fetch(uri);
    }
  }

  /** A proxy met an unknown key: refetch now unless we just did. */
  refresh(uris: readonly string[]): void {
    for (const uri of uris) {
      const e = this.#entries.get(uri);
      if (e && !e.inFlight && this.o.clock.now() - e.lastFetch >= this.#minRefetchMs) void this.#fetch(uri);
    }
  }

  stop(): void {
    for (const e of this.#entries.values()) clearTimeout(e.timer);
    this.#entries.clear();
  }

  async #fetch(uri: string): Promise<void> {
    const e = this.#entries.get(uri);
    if (!e) return;
    e.inFlight = true;
    e.lastFetch = this.o.clock.now();
    clearTimeout(e.timer);
    let next = this.#refreshMs;
    try {
      const doc = await this.o.fetch(uri);
      if (doc.length > MAX_DOC_BYTES) throw new RangeError('JWKS document larger than 1 MiB');
      const parsed = JSON.parse(doc) as { keys?: unknown };
      if (!Array.isArray(parsed.keys)) throw new TypeError('not a JWKS document (no "keys" array)');
      e.failures = 0;
      if (this.#entries.get(uri) === e && doc !== e.doc) {
        e.doc = doc;
        this.o.log.info('JWKS fetched', { uri, keys: parsed.keys.length });
        this.o.onChange();
      }
    } catch (err) {
      e.failures++;
      next = Math.min(1000 * 2 ** e.failures, 60_000);
      this.o.log.warn('JWKS fetch failed; retrying', { uri, error: (err as Error).message, retryMs: next });
    } finally {
      e.inFlight = false;
    }
    if (this.#entries.get(uri) === e) e.timer = this.o.clock.setTimeout(() => void this.#fetch(uri), next);
  }
}
