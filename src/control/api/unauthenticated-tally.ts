/**
 * Bounds what unauthenticated calls add to the audit chain. Anyone who reaches the port can send them, so one entry
 * each would let a stranger grow the chain, which is never pruned, without limit. Per source address and interval:
 * the first 401 is recorded at once (a single failed attempt is seen immediately, with its reason); later ones in
 * the same interval are only counted, and `flush` turns the count into one entry once the interval is over. At most
 * `maxSources` addresses are tracked per interval; calls from any other are counted under the source `*`. The chain
 * therefore grows by at most 2 × (maxSources + 1) entries per interval, however many calls arrive.
 */
import type { RefusalEvent } from '../store/audit-chain.js';
import type { Clock } from '../store/types.js';

export const OVERFLOW_SOURCE = '*';

export interface UnauthenticatedTallyOptions {
  clock: Clock;
  /** Default one minute. */
  intervalMs?: number;
  /** Default 256. */
  maxSources?: number;
}

interface Window {
  startedAt: number;
  /** Calls after the first, not yet recorded. */
  counted: number;
  firstTime: string;
  lastTime: string;
  /** The newest counted call, whose method, path and reason the summary repeats. */
  last: RefusalEvent | undefined;
}

export class UnauthenticatedTally {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #maxSources: number;
  readonly #windows = new Map<string, Window>();

  constructor(options: UnauthenticatedTallyOptions) {
    this.#clock = options.clock;
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#maxSources = options.maxSources ?? 256;
    if (!(this.#intervalMs > 0) || !(this.#maxSources > 0)) throw new TypeError('interval and source limit must be positive');
  }

  /**
   * Takes one 401 from `source`; returns what to append now: the summaries of intervals that have ended, then the
   * refusal itself if it is the first from its source in this interval.
   */
  note(source: string, refusal: RefusalEvent): RefusalEvent[] {
    const now = this.#clock();
    const due = this.flush();
    const tracked = this.#windows.has(source) || this.#windows.size < this.#maxSources ? source : OVERFLOW_SOURCE;
    const window = this.#windows.get(tracked);
    if (window === undefined) {
      const time = new Date(now).toISOString();
      this.#windows.set(tracked, { startedAt: now, counted: 0, firstTime: time, lastTime: time, last: undefined });
      return [...due, { ...refusal, source: tracked }];
    }
    const time = new Date(now).toISOString();
    if (window.counted === 0) window.firstTime = time;
    window.counted++;
    window.lastTime = time;
    window.last = refusal;
    return due;
  }

  /** Summaries of the intervals that have ended (of every open one if `all`, at stop); they are then forgotten. */
  flush(all = false): RefusalEvent[] {
    const now = this.#clock();
    const out: RefusalEvent[] = [];
    for (const [source, w] of this.#windows) {
      if (!all && now - w.startedAt < this.#intervalMs) continue;
      this.#windows.delete(source);
      if (w.last === undefined) continue;
      out.push({
        ...w.last,
        source,
        reason: `${w.counted} more unauthenticated calls from ${source === OVERFLOW_SOURCE ? 'other sources' : source} (last: ${w.last.reason})`,
        count: w.counted,
        firstTime: w.firstTime,
        lastTime: w.lastTime,
      });
    }
    return out;
  }
}
