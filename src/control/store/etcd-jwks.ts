/**
 * JWKS documents shared by control-plane replicas through etcd. Only the leading replica fetches them from the
 * identity providers; it writes each document here, and every replica (the leader too) reads them from here and
 * pushes them to its own proxies. A follower whose proxy met an unknown key asks the leader to refetch by writing
 * a refresh request, which the leader watches.
 *
 *   jwks/docs/<uri>      the newest document fetched for a jwksUri (URI-encoded)
 *   jwks/refresh/<uri>   a follower's request to refetch now (every put is an event; the value is only a time)
 */
import type { Namespace, Watcher } from 'etcd3';

const DOCS = 'jwks/docs/';
const REFRESH = 'jwks/refresh/';

export interface SharedJwksEvents {
  /** A document was written (or removed: undefined) by the leader. */
  onDocument(uri: string, doc: string | undefined): void;
  /** A follower asked for `uri` to be refetched. */
  onRefreshRequest(uri: string): void;
  /** The watch (re)connected: events may have been missed while it was away, so read everything again. */
  onResync(): void;
  onError(err: unknown): void;
}

export interface SharedJwksRecords {
  documents(): Promise<Map<string, string>>;
  put(uri: string, doc: string): Promise<void>;
  remove(uri: string): Promise<void>;
  requestRefresh(uri: string, now: number): Promise<void>;
  /** Watches both kinds of key until the returned function is called. */
  watch(events: SharedJwksEvents): Promise<() => Promise<void>>;
}

export class EtcdJwksRecords implements SharedJwksRecords {
  readonly #ns: Namespace;

  constructor(ns: Namespace) {
    this.#ns = ns;
  }

  async documents(): Promise<Map<string, string>> {
    const all = await this.#ns.getAll().prefix(DOCS).strings();
    return new Map(Object.entries(all).map(([k, v]) => [decodeURIComponent(k.slice(DOCS.length)), v]));
  }

  async put(uri: string, doc: string): Promise<void> {
    await this.#ns.put(DOCS + encodeURIComponent(uri)).value(doc);
  }

  async remove(uri: string): Promise<void> {
    await this.#ns.delete().key(DOCS + encodeURIComponent(uri));
  }

  async requestRefresh(uri: string, now: number): Promise<void> {
    await this.#ns.put(REFRESH + encodeURIComponent(uri)).value(String(now));
  }

  async watch(events: SharedJwksEvents): Promise<() => Promise<void>> {
    const watcher: Watcher = await this.#ns.watch().prefix('jwks/').create();
    watcher.on('put', (kv) => {
      const key = kv.key.toString('utf8');
      if (key.startsWith(DOCS)) events.onDocument(decodeURIComponent(key.slice(DOCS.length)), kv.value.toString('utf8'));
      else if (key.startsWith(REFRESH)) events.onRefreshRequest(decodeURIComponent(key.slice(REFRESH.length)));
    });
    watcher.on('delete', (kv) => {
      const key = kv.key.toString('utf8');
      if (key.startsWith(DOCS)) events.onDocument(decodeURIComponent(key.slice(DOCS.length)), undefined);
    });
    // 'connected' follows every reconnection after the first; a compaction meanwhile may have dropped events.
    watcher.on('connected', () => events.onResync());
    watcher.on('error', (err) => events.onError(err));
    return () => watcher.cancel();
  }
}
