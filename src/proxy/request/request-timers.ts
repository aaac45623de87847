/**
 * Every timer of the request path (route timeout, per-try timeout, retry backoff, fault delay) on the injected clock.
 * One clock timer is armed for the earliest deadline; a request's timer is a small object in a binary heap, so no
 * request makes a closure, and a cancelled one is only marked (removed when it reaches the top, or when cancelled
 * entries outnumber live ones). The clock has no clearTimeout: a stale clock timer fires, finds nothing due, re-arms.
 */
import type { Clock } from '../../clock.js';

/** What a timer does when due: an object the layer already has for the request. */
export interface Expirable {
  expire(): void;
}

export class RequestTimer {
  /** Set by the queue; -1 when not queued. */
  index = -1;
  cancelled = false;
  constructor(
    readonly deadline: number,
    readonly target: Expirable,
  ) {}
}

export class RequestTimers {
  private readonly heap: RequestTimer[] = [];
  private armedFor = Infinity;
  private cancelledCount = 0;
  private readonly onFire = (): void => this.fire();

  constructor(private readonly clock: Clock) {}

  /** Calls `target.expire()` after `ms` on the clock, unless cancelled first. */
  after(ms: number, target: Expirable): RequestTimer {
    const t = new RequestTimer(this.clock.now() + ms, target);
    this.push(t);
    if (t.deadline < this.armedFor) this.arm(t.deadline);
    return t;
  }

  cancel(t: RequestTimer | undefined): void {
    if (t === undefined || t.cancelled || t.index < 0) return;
    t.cancelled = true;
    this.cancelledCount++;
    if (this.cancelledCount > 64 && this.cancelledCount * 2 > this.heap.length) this.compact();
  }

  /** Timers queued, cancelled ones included until they are dropped (tests and the admin view). */
  get size(): number {
    return this.heap.length - this.cancelledCount;
  }

  private arm(deadline: number): void {
    this.armedFor = deadline;
    this.clock.setTimeout(this.onFire, Math.max(0, deadline - this.clock.now()));
  }

  private fire(): void {
    const now = this.clock.now();
    this.armedFor = Infinity;
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.deadline <= now) {
      const t = this.pop();
      if (t.cancelled) {
        this.cancelledCount--;
        continue;
      }
      t.target.expire();
    }
    while (heap.length > 0 && heap[0]!.cancelled) {
      this.pop();
      this.cancelledCount--;
    }
    if (heap.length > 0) this.arm(heap[0]!.deadline);
  }

  private compact(): void {
    const live = this.heap.filter((t) => !t.cancelled);
    for (const t of this.heap) t.index = -1;
    this.heap.length = 0;
    this.cancelledCount = 0;
    for (const t of live) this.push(t);
  }

  private push(t: RequestTimer): void {
    const heap = this.heap;
    t.index = heap.length;
    heap.push(t);
    this.up(t.index);
  }

  private pop(): RequestTimer {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    top.index = -1;
    if (heap.length > 0) {
      heap[0] = last;
      last.index = 0;
      this.down(0);
    }
    return top;
  }

  private up(i: number): void {
    const heap = this.heap;
    const t = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.deadline <= t.deadline) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = t;
    t.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const t = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r]!.deadline < heap[l]!.deadline ? r : l;
      if (heap[c]!.deadline >= t.deadline) break;
      heap[i] = heap[c]!;
      heap[i]!.index = i;
      i = c;
    }
    heap[i] = t;
    t.index = i;
  }
}
