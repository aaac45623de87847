/**
 * Log lines off the request path: whoever has lines to write wakes the writer, which asks for them (`drain`) and
 * writes them to the file descriptor in one asynchronous write per window of FLUSH_MS, or sooner once FLUSH_COUNT are
 * waiting. Under `weft up` stdout is a file, where a plain `process.stdout.write` is a synchronous write per line:
 * that cost 12% of a sidecar's CPU under load.
 */
import fs from 'node:fs';

const FLUSH_COUNT = 512;
const FLUSH_MS = 50;

export class LineWriter {
  #timer: NodeJS.Timeout | undefined;
  #writing = false;
  #waiting = false;

  constructor(
    private readonly fd: number,
    private readonly drain: () => string,
  ) {
    // Whatever is still waiting when the process ends is written synchronously.
    process.once('exit', () => this.#flushSync());
  }

  /** `pending`: how many lines wait; many flush at once, a few wait for the window. */
  wake(pending: number): void {
    this.#waiting = true;
    if (pending >= FLUSH_COUNT) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
  }

  #take(): string {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = false;
    return this.drain();
  }

  #flush(): void {
    if (this.#writing || !this.#waiting) return;
    const text = this.#take();
    if (text === '') return;
    this.#writing = true;
    fs.write(this.fd, text, (err) => {
      this.#writing = false;
      // A closed or broken stdout must not take the proxy down; the lines are dropped.
      if (!err && this.#waiting) this.#timer ??= setTimeout(() => this.#flush(), 0).unref();
    });
  }

  #flushSync(): void {
    if (!this.#waiting) return;
    try {
      fs.writeSync(this.fd, this.#take());
    } catch {
      // nothing to do at exit
    }
  }
}
