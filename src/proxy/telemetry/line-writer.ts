/**
 * Log lines off the request path: appended to a buffer and written to the file descriptor in one asynchronous
 * write per tick window (or when 64 KiB have gathered). Under `weft up` stdout is a file, where a plain
 * `process.stdout.write` is a synchronous write per line: that cost 12% of a sidecar's CPU under load.
 */
import fs from 'node:fs';

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 50;

export class LineWriter {
  #pending: string[] = [];
  #bytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing = false;

  constructor(private readonly fd: number) {
    // Whatever is still buffered when the process ends is written synchronously.
    process.once('exit', () => this.#flushSync());
  }

  write(line: string): void {
    this.#pending.push(line);
    this.#bytes += line.length;
    if (this.#bytes >= FLUSH_BYTES) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
  }

  #take(): string {
    const text = this.#pending.join('');
    this.#pending = [];
    this.#bytes = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return text;
  }

  #flush(): void {
    if (this.#writing || this.#pending.length === 0) return;
    this.#writing = true;
    fs.write(this.fd, this.#take(), (err) => {
      this.#writing = false;
      // A closed or broken stdout must not take the proxy down; the lines are dropped.
      if (!err && this.#pending.length > 0) this.#timer ??= setTimeout(() => this.#flush(), 0).unref();
    });
  }

  #flushSync(): void {
    if (this.#pending.length === 0) return;
    try {
      fs.writeSync(this.fd, this.#take());
    } catch {
      // nothing to do at exit
    }
  }
}
