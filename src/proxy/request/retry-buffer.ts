/**
 * A request body kept for retries and mirrors, as Envoy keeps it: the body streams to the first attempt as it
 * arrives, and a copy is kept up to the buffer limit; a retry replays the copy (then goes on with the rest as it
 * arrives); mirrors get the whole copy once the body has ended. Once the body outgrows the limit the copy is dropped:
 * the request is no longer retriable and its mirror copies are not sent, and the body is never buffered further.
 * Reading starts with the first attempt, so a request held by a fault delay or a breaker queue is not read ahead.
 * Backpressure: the client's body pauses while the attempt in flight does not take more.
 */
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';

/**
 * Envoy's per-request buffer limit when nothing sets it: the listener's per_connection_buffer_limit_bytes default,
 * 1 MiB (Envoy's retry and shadow buffers are bounded by it).
 */
export const RETRY_BUFFER_LIMIT_BYTES = 1024 * 1024;

const OWNER = Symbol('retry-buffer');
type Owned = Readable & { [OWNER]?: RetryBuffer | undefined };

/** Told the whole body once it ended within the limit. */
export interface BodyComplete {
  bodyComplete(body: Buffer): void;
}

// Listeners without closures: node calls them with the stream as `this`.
function sourceData(this: Owned, chunk: Buffer): void {
  this[OWNER]?.data(chunk);
}
function sourceEnd(this: Owned): void {
  this[OWNER]?.end();
}
function sourceClosed(this: Owned): void {
  this[OWNER]?.broken();
}
function attemptDrained(this: Owned): void {
  this[OWNER]?.drained(this);
}
/** An attempt's body destroyed by its client (the attempt was aborted) is not an error of the request. */
function ignoreError(): void {}

export class RetryBuffer {
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** The body outgrew the limit: the copy is gone. */
  overflowed = false;
  private ended = false;
  private reading = false;
  private current: PassThrough | undefined;
  private waiting: BodyComplete[] | undefined;

  constructor(
    private readonly source: Readable,
    private readonly limit: number = RETRY_BUFFER_LIMIT_BYTES,
  ) {}

  /** The request can be sent again. */
  get retriable(): boolean {
    return !this.overflowed;
  }

  /** Buffered bytes held now (bounded by the limit). */
  get size(): number {
    return this.bytes;
  }

  /** The body for the next attempt: what has been kept, then the rest as it arrives. The previous one is let go. */
  attemptBody(): Readable {
    const old = this.current;
    if (old !== undefined) {
      (old as Owned)[OWNER] = undefined;
      if (!old.destroyed) old.destroy();
    }
    const pt = new PassThrough();
    (pt as Owned)[OWNER] = this;
    pt.on('drain', attemptDrained);
    pt.on('error', ignoreError);
    for (const c of this.chunks) pt.write(c);
    if (this.ended) pt.end();
    this.current = pt;
    if (!this.reading) {
      this.reading = true;
      const s = this.source as Owned;
      s[OWNER] = this;
      s.on('data', sourceData);
      s.once('end', sourceEnd);
      s.once('close', sourceClosed);
      s.on('error', sourceClosed);
    } else if (!this.ended && this.source.isPaused()) {
      this.source.resume();
    }
    return pt;
  }

  /** `who` gets the whole body when it has ended within the limit; nothing if it overflows. */
  whenComplete(who: BodyComplete): void {
    if (this.overflowed) return;
    if (this.ended) {
      who.bodyComplete(Buffer.concat(this.chunks, this.bytes));
      return;
    }
    (this.waiting ??= []).push(who);
  }

  data(chunk: Buffer): void {
    if (!this.overflowed) {
      if (this.bytes + chunk.length > this.limit) {
        this.overflowed = true;
        this.chunks = [];
        this.bytes = 0;
        this.waiting = undefined;
      } else {
        this.chunks.push(chunk);
        this.bytes += chunk.length;
      }
    }
    const cur = this.current;
    if (cur !== undefined && !cur.destroyed && !cur.write(chunk)) this.source.pause();
  }

  end(): void {
    this.ended = true;
    this.current?.end();
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting !== undefined && !this.overflowed) {
      const body = Buffer.concat(this.chunks, this.bytes);
      for (const w of waiting) w.bodyComplete(body);
    }
  }

  /** The client's body broke off before its end: the attempt's body breaks too, and nothing is replayed. */
  broken(): void {
    if (this.ended) return;
    this.overflowed = true;
    this.chunks = [];
    this.bytes = 0;
    this.waiting = undefined;
    const cur = this.current;
    if (cur !== undefined && !cur.destroyed) cur.destroy(new Error('request body broke off'));
  }

  drained(stream: Readable): void {
    if (stream === this.current && !this.ended) this.source.resume();
  }
}
