/** Test fixture: a clock that moves only when a test advances it, running what falls due in deadline order. */
import type { Clock } from '../../clock.js';

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private queue: Scheduled[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    this.queue.push({ at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return undefined as unknown as NodeJS.Timeout;
  }

  /** Moves time forward by `ms`, running each timer due on the way at its own time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (next === undefined || next.at > end) break;
      this.queue.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  get pending(): number {
    return this.queue.length;
  }
}
