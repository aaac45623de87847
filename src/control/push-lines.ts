/**
 * How the control plane writes push-stream lines: a config from its parts, the proxy's own text as a string and
 * each shared section as one Buffer encoded once and written to every stream that shares it without a copy each,
 * so a config is never materialised as one string per proxy.
 *
 * Every line goes through the connection's LineWriter, which hands the stream at most WRITE_PIECE_BYTES at a time
 * and the next piece only on 'drain'. Handing a whole first config (about 1 MB with a thousand services) to the
 * stream at once left about 50 KB more native memory resident per connection than handing it over in pieces,
 * which with 2,000 proxies was about 100 MiB of the control plane's peak (docs/decisions.md, 2026-12-07).
 */
import type { Writable } from 'node:stream';
import type { ConfigJsonPart } from './compile/index.js';
import type { SharedSection } from './compile/snapshot-memo.js';
import type { DeltaPart } from './push-delta.js';
import type { ControlMessage } from '../push/protocol.js';

/** At most this much of a line is handed to the stream at once: one full TLS record. */
export const WRITE_PIECE_BYTES = 16 * 1024;

type LinePart = string | Buffer | SharedSection<unknown>;

const bufferOf = (p: LinePart): Buffer => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.isBuffer(p) ? p : p.bytes);

/** A stream that can take no more writes. */
const gone = (stream: Writable): boolean => stream.destroyed || stream.writableEnded;

/**
 * One stream's outgoing lines, written in order a piece at a time. Lines never interleave: a message queued while
 * a config is half written follows it.
 */
export class LineWriter {
  /** Bytes not yet handed to the stream: whole Buffers (shared ones are sliced, never copied). */
  readonly #queue: Buffer[] = [];
  /** How much of the first queued Buffer was already handed over. */
  #offset = 0;
  /** The stream's buffer is full: the rest waits for 'drain'. */
  #waiting = false;
  #whenWritten: Array<() => void> = [];
  #written = 0;

  constructor(private readonly stream: Writable) {}

  /** Everything queued was handed to the stream, and the stream's buffer has room. */
  get idle(): boolean {
    return !this.#waiting && this.#queue.length === 0;
  }

  /** Bytes handed to the stream so far: a line that makes no progress for long means a peer that does not read. */
  get written(): number {
    return this.#written;
  }

  /** Queues one line made of `parts` (a newline ends it); true when it is all handed over and the stream has room. */
  line(parts: readonly LinePart[]): boolean {
    for (const p of parts) {
      const b = bufferOf(p);
      if (b.length > 0) this.#queue.push(b);
    }
    this.#queue.push(NEWLINE);
    this.#writeSome();
    return this.idle;
  }

  /** Calls `then` once the writer is idle again (at once if it is). A stream that closes first never calls it. */
  onceWritten(then: () => void): void {
    if (this.idle) then();
    else this.#whenWritten.push(then);
  }

  #writeSome(): void {
    const { stream } = this;
    while (!this.#waiting && this.#queue.length > 0) {
      if (gone(stream)) {
        this.#queue.length = 0;
        return;
      }
      stream.cork();
      let room = WRITE_PIECE_BYTES;
      let ok = true;
      while (room > 0 && this.#queue.length > 0) {
        const head = this.#queue[0] as Buffer;
        const take = Math.min(room, head.length - this.#offset);
        ok = stream.write(take === head.length ? head : head.subarray(this.#offset, this.#offset + take));
        room -= take;
        this.#written += take;
        this.#offset += take;
        if (this.#offset === head.length) {
          this.#queue.shift();
          this.#offset = 0;
        }
      }
      stream.uncork();
      if (!ok) {
        this.#waiting = true;
        stream.once('drain', () => {
          this.#waiting = false;
          this.#writeSome();
        });
      }
    }
    if (this.idle && this.#whenWritten.length > 0) {
      const callbacks = this.#whenWritten;
      this.#whenWritten = [];
      for (const then of callbacks) then();
    }
  }
}

const NEWLINE = Buffer.from('\n');
const CONFIG_LINE_START = Buffer.from('{"type":"config","config":');
const CONFIG_LINE_END = Buffer.from('}');

/** `{"type":"config","config":…}` and a newline, the config written from its parts; false when the stream must drain first. */
export function writeConfigLine(writer: LineWriter, parts: readonly ConfigJsonPart[]): boolean {
  return writer.line([CONFIG_LINE_START, ...parts, CONFIG_LINE_END]);
}

/** A line written from its parts (shared sections by their bytes); false when the stream must drain first. */
export function writeDeltaLine(writer: LineWriter, parts: readonly DeltaPart[]): boolean {
  // Adjacent text goes as one Buffer: a delta is mostly a few short strings, and every Buffer handed to the stream
  // is a write of its own (with its own bookkeeping in the HTTP/2 and TLS layers) for a few dozen bytes.
  const merged: LinePart[] = [];
  let text = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      text += p;
      continue;
    }
    if (text !== '') merged.push(text);
    text = '';
    merged.push(p);
  }
  if (text !== '') merged.push(text);
  return writer.line(merged);
}

/** Any other control message, as one JSON line after whatever is queued; nothing on a stream already closed. */
export function sendMessage(writer: LineWriter, msg: ControlMessage): void {
  writer.line([JSON.stringify(msg)]);
}

/** A control message on a stream that has no writer yet (refused before the hello was accepted). */
export function sendMessageNow(stream: Writable, msg: ControlMessage): void {
  if (!gone(stream)) stream.write(`${JSON.stringify(msg)}\n`);
}
