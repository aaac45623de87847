/**
 * Which upstream targets the config in force lists, and which pools were made since the last push for targets it
 * does not list (the app, hosts outside the mesh): what a push leaves to close. The HTTP/1.1 pools and the HTTP/2
 * sessions each keep one, so both close on the same change, at the cost of the change rather than of the config.
 */
import { targetKey } from './upstream-target.js';
import type { UpstreamTarget } from './upstream-target.js';

export class ListedTargets {
  /** Target key → how many clusters of the config in force list the target (subsets share their endpoints). */
  readonly #listed = new Map<string, number>();
  #unlisted = new Set<string>();

  /** A pool for `key` was made. */
  made(key: string): void {
    if (!this.#listed.has(key)) this.#unlisted.add(key);
  }

  /**
   * A push: `joined` and `left` are the endpoints of the clusters it added and removed (a changed cluster is both).
   * Returns the keys whose pools close: endpoints no cluster lists any more, and pools made since the last push for
   * targets no cluster lists.
   */
  retain(joined: Iterable<UpstreamTarget>, left: Iterable<UpstreamTarget>): string[] {
    const closing: string[] = [];
    // Counted up first, so that an endpoint a changed cluster keeps never drops to zero on the way.
    for (const t of joined) {
      const key = targetKey(t);
      this.#listed.set(key, (this.#listed.get(key) ?? 0) + 1);
    }
    for (const t of left) {
      const key = targetKey(t);
      const n = (this.#listed.get(key) ?? 0) - 1;
      if (n > 0) this.#listed.set(key, n);
      else {
        this.#listed.delete(key);
        closing.push(key);
      }
    }
    for (const key of this.#unlisted) if (!this.#listed.has(key)) closing.push(key);
    this.#unlisted = new Set();
    return closing;
  }

  /** The pools made since the last push are gone (closed with the rest). */
  forgetUnlisted(): void {
    this.#unlisted.clear();
  }
}
