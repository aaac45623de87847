/**
 * JWKS documents when several replicas share one etcd: the replica holding the leader lease is the only one that
 * fetches (its JwksCache schedules refreshes, retries and proxy-triggered refetches) and writes what it fetched to
 * the store; every replica, the leader included, serves the documents it reads from the store, so all of them push
 * the same keys. A follower's proxy that meets an unknown key becomes a refresh request in the store, which the
 * leader answers. When the lease passes, the new leader starts its cache and fetches every tracked URI at once.
 */
import type { Clock } from '../../clock.js';
import type { ControlLog } from '../control-log.js';
import { JwksCache } from '../jwks-cache.js';
import type { JwksFetcher } from '../jwks-cache.js';
import type { SharedJwksRecords } from '../store/etcd-jwks.js';

/** What the control plane asks of its JWKS documents, whether it fetches them itself or reads them from the store. */
export interface JwksSource {
  documents(): Map<string, string>;
  track(uris: Set<string>): void;
  refresh(uris: readonly string[]): void;
  stop(): Promise<void> | void;
}

export interface ReplicatedJwksOptions {
  records: SharedJwksRecords;
  fetch: JwksFetcher;
  /** Called when the documents served change: recompile and push. */
  onChange: () => void;
  leading: () => boolean;
  clock: Clock;
  log: ControlLog;
  refreshMs?: number;
  /** A follower forwards a proxy's refetch request for one URI at most this often (the leader rate-limits too). */
  minRefetchMs?: number;
}

const PUBLISH_RETRY_MS = 1_000;

export class ReplicatedJwks implements JwksSource {
  readonly #o: ReplicatedJwksOptions;
  /** Documents as the store has them. */
  #docs = new Map<string, string>();
  #wanted = new Set<string>();
  /** The fetching cache, while this replica leads. */
  #cache: JwksCache | undefined;
  readonly #asked = new Map<string, number>();
  readonly #minRefetchMs: number;
  #unwatch: (() => Promise<void>) | undefined;
  #stopped = false;

  constructor(o: ReplicatedJwksOptions) {
    this.#o = o;
    this.#minRefetchMs = o.minRefetchMs ?? 2_000;
  }

  /** Reads the documents and watches for the leader's writes and the followers' requests. */
  async start(): Promise<void> {
    this.#unwatch = await this.#o.records.watch({
      onDocument: (uri, doc) => this.#stored(uri, doc),
      onRefreshRequest: (uri) => this.#cache?.refresh([uri]),
      onResync: () => void this.#reload(),
      onError: (err) => this.#o.log.warn('JWKS watch failed; it resumes', { error: String(err) }),
    });
    // Served from the first track(), which the control plane calls once it can recompile.
    this.#docs = await this.#o.records.documents();
    this.leadershipChanged(this.#o.leading());
  }

  /** Starts fetching on election, stops on loss of the lease. */
  leadershipChanged(leading: boolean): void {
    if (this.#stopped) return;
    if (leading && this.#cache === undefined) {
      this.#cache = new JwksCache({
        fetch: this.#o.fetch,
        onChange: () => this.#publish(),
        clock: this.#o.clock,
        log: this.#o.log,
        ...(this.#o.refreshMs === undefined ? {} : { refreshMs: this.#o.refreshMs }),
        minRefetchMs: this.#minRefetchMs,
      });
      this.#cache.track(this.#wanted);
      this.#o.log.info('fetching JWKS documents for every replica', { uris: this.#wanted.size });
    } else if (!leading && this.#cache !== undefined) {
      this.#cache.stop();
      this.#cache = undefined;
    }
  }

  documents(): Map<string, string> {
    const out = new Map<string, string>();
    for (const uri of this.#wanted) {
      const doc = this.#docs.get(uri);
      if (doc !== undefined) out.set(uri, doc);
    }
    return out;
  }

  track(uris: Set<string>): void {
    const dropped = [...this.#wanted].filter((u) => !uris.has(u));
    const stored = [...uris].some((u) => !this.#wanted.has(u) && this.#docs.has(u));
    this.#wanted = new Set(uris);
    // A URI newly compiled whose document another leader already stored is served at once.
    if (stored) this.#o.onChange();
    if (this.#cache === undefined) return;
    this.#cache.track(this.#wanted);
    // Documents nobody compiles any more leave the store with the leader that last fetched them.
    for (const uri of dropped) this.#o.records.remove(uri).catch((err: unknown) => this.#o.log.warn('cannot remove a JWKS document', { uri, error: String(err) }));
  }

  refresh(uris: readonly string[]): void {
    if (this.#cache !== undefined) {
      this.#cache.refresh(uris);
      return;
    }
    const now = this.#o.clock.now();
    for (const uri of uris) {
      if (!this.#wanted.has(uri) || now - (this.#asked.get(uri) ?? -Infinity) < this.#minRefetchMs) continue;
      this.#asked.set(uri, now);
      this.#o.records.requestRefresh(uri, now).catch((err: unknown) => this.#o.log.warn('cannot ask the leader to refetch a JWKS document', { uri, error: String(err) }));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cache?.stop();
    this.#cache = undefined;
    await this.#unwatch?.().catch(() => undefined);
  }

  /** The leader's cache has documents the store lacks or holds older: write them (the watch brings them back). */
  #publish(): void {
    const cache = this.#cache;
    if (cache === undefined) return;
    for (const [uri, doc] of cache.documents()) {
      if (this.#docs.get(uri) === doc) continue;
      this.#o.records.put(uri, doc).catch((err: unknown) => {
        // The cache reports a document once; until it is stored the followers would serve the old one, so retry.
        this.#o.log.warn('cannot store a JWKS document; retrying', { uri, error: String(err) });
        this.#o.clock.setTimeout(() => this.#publish(), PUBLISH_RETRY_MS);
      });
    }
  }

  #stored(uri: string, doc: string | undefined): void {
    if (this.#docs.get(uri) === doc) return;
    if (doc === undefined) this.#docs.delete(uri);
    else this.#docs.set(uri, doc);
    if (this.#wanted.has(uri)) this.#o.onChange();
  }

  async #reload(): Promise<void> {
    try {
      const docs = await this.#o.records.documents();
      const changed = docs.size !== this.#docs.size || [...docs].some(([uri, doc]) => this.#docs.get(uri) !== doc);
      this.#docs = docs;
      if (changed) this.#o.onChange();
    } catch (err) {
      this.#o.log.warn('cannot read the JWKS documents from the store', { error: String(err) });
    }
  }
}
