/**
 * Log lines off the request path: whoever has lines to write wakes the writer, which asks for them (`drain`) and
 * writes them to the file descriptor in one asynchronous write per window of FLUSH_MS, or sooner once FLUSH_COUNT are
 * waiting. Under `weft up` stdout is a file, where a plain `process.stdout.write` is a synchronous write per line:
 * that cost 12% of a sidecar's CPU under load.
 */
import fs from 'node:fs';

const FLUSH_COUNT = 512;
const FLUSH_MS = 50;

/** `fs.write` of a string; a test holds the callback back to stand in for a slow disk. */
export type WriteText = (fd: number, text: string, done: (err: NodeJS.ErrnoException | null) => void) => void;

export class LineWriter {
  #timer: NodeJS.Timeout | undefined;
  #writing = false;
  #waiting = false;

  constructor(
    private readonly fd: number,
    private readonly drain: () => string,
    private readonly writeText: WriteText = (fd, text, done) => fs.write(fd, text, done),
  ) {
    // Whatever is still waiting when the process ends is written synchronously.
    process.once('exit', () => this.#flushSync());
  }

  /** `pending`: how many lines wait; many flush at once, a few wait for the window. */
  wake(pending: number): void {
    this.#waiting = true;
    if (pending >= FLUSH_COUNT) this.#flush();
    else this.#timer ??= setTimeout(this.#onTimer, FLUSH_MS).unref();
  }

  // A timer that fired is forgotten before anything else: one that fires while a write is under way finds nothing to
  // do, and a handle still held then would keep the write's completion from arming the next flush, leaving the
  // lines queued until FLUSH_COUNT more arrive.
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#flush();
  };

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
    this.writeText(this.fd, text, (err) => {
      this.#writing = false;
      // A closed or broken stdout must not take the proxy down; the lines are dropped.
      if (!err && this.#waiting) this.#timer ??= setTimeout(this.#onTimer, 0).unref();
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
