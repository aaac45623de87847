/**
 * Batches bursts of store changes into one recompile and push, with Istio's debounce semantics
 * (PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX): a push waits until no change has come for `afterMs`, but never more
 * than `maxMs` after the first change it carries, so a steady stream of changes still pushes every `maxMs`. One push
 * runs at a time, as Istio's: changes during a push are batched into the next, which is debounced again.
 */
import type { Clock } from '../clock.js';

/** Istio's defaults: 100 ms of quiet, at most 10 s. */
export const PUSH_DEBOUNCE_AFTER_MS = 100;
export const PUSH_DEBOUNCE_MAX_MS = 10_000;

export interface PushDebounceOptions {
  clock: Clock;
  /** Runs the push; `firstChangeAt` is when the first change it carries came (the clock's time), for its log. */
  push: (firstChangeAt: number) => Promise<void>;
  afterMs?: number;
  maxMs?: number;
  /** A push failed; the next change pushes again. */
  onError: (err: unknown) => void;
}

export class PushDebounce {
  readonly #after: number;
  readonly #max: number;
  /** When the first change not yet pushed came, and the latest. */
  #first: number | undefined;
  #last = 0;
  #armed = false;
  #pushing = false;
  #stopped = false;

  constructor(private readonly o: PushDebounceOptions) {
    this.#after = o.afterMs ?? PUSH_DEBOUNCE_AFTER_MS;
    this.#max = o.maxMs ?? PUSH_DEBOUNCE_MAX_MS;
  }

  /** A change happened. */
  changed(): void {
    const now = this.o.clock.now();
    this.#first ??= now;
    this.#last = now;
    if (!this.#armed && !this.#pushing) this.#arm(this.#after);
  }

  /** No push starts after this (one under way finishes). */
  stop(): void {
    this.#stopped = true;
  }

  #arm(ms: number): void {
    this.#armed = true;
    this.o.clock.setTimeout(() => this.#due(), ms);
  }

  #due(): void {
    this.#armed = false;
    if (this.#first === undefined || this.#stopped) return;
    const now = this.o.clock.now();
    const quiet = now - this.#last;
    const waited = now - this.#first;
    if (quiet < this.#after && waited < this.#max) {
      this.#arm(Math.min(this.#after - quiet, this.#max - waited));
      return;
    }
    const first = this.#first;
    this.#first = undefined;
    this.#pushing = true;
    this.o
      .push(first)
      .catch((err: unknown) => this.o.onError(err))
      .finally(() => {
        this.#pushing = false;
        // Changes that came during the push: their debounce started when they came, so it may be due already.
        if (this.#first !== undefined) this.#due();
      });
  }
}
