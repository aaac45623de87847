/**
 * The line writer against a stream that takes one write and then waits for the test to drain it: a line longer than
 * a piece reaches the stream a piece at a time, in order, and a message queued meanwhile follows the line whole.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { LineWriter, sendMessage, WRITE_PIECE_BYTES } from './push-lines.js';

/** Buffers what it is given until `release()`; records the most it ever held at once. */
class HeldStream extends Writable {
  bytes = '';
  most = 0;
  #held: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 1 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.#take([chunk], done);
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, done: () => void): void {
    this.#take(chunks.map((c) => c.chunk), done);
  }
  #take(chunks: Buffer[], done: () => void): void {
    for (const c of chunks) this.bytes += c.toString('utf8');
    this.most = Math.max(this.most, this.writableLength);
    this.#held.push(done);
  }
  async release(): Promise<void> {
    const held = this.#held;
    this.#held = [];
    for (const done of held) done();
    await new Promise((r) => setImmediate(r));
  }
}

describe('LineWriter', () => {
  test('a line of many pieces is handed over one piece per drain, and is whole at the end', async () => {
    const stream = new HeldStream();
    const writer = new LineWriter(stream);
    const shared = Buffer.alloc(5 * WRITE_PIECE_BYTES + 100, 'a');
    assert.equal(writer.line(['{"x":"', shared, '"}']), false);
    let written = false;
    writer.onceWritten(() => (written = true));
    assert.equal(stream.bytes.length, WRITE_PIECE_BYTES, 'only the first piece before a drain');
    let drains = 0;
    while (!writer.idle) {
      assert.equal(written, false);
      await stream.release();
      drains++;
    }
    assert.equal(written, true);
    assert.equal(drains, 6);
    assert.ok(stream.most <= WRITE_PIECE_BYTES, `the stream held ${stream.most} bytes at once`);
    assert.deepEqual(JSON.parse(stream.bytes), { x: shared.toString() });
    assert.ok(stream.bytes.endsWith('\n'));
  });

  test('a message queued while a line is half written follows the whole line', async () => {
    const stream = new HeldStream();
    const writer = new LineWriter(stream);
    writer.line([Buffer.alloc(2 * WRITE_PIECE_BYTES, 'b')]);
    sendMessage(writer, { type: 'report-runtime', id: 'r1' });
    while (!writer.idle) await stream.release();
    const lines = stream.bytes.split('\n');
    assert.deepEqual(lines.map((l) => l.length), [2 * WRITE_PIECE_BYTES, JSON.stringify({ type: 'report-runtime', id: 'r1' }).length, 0]);
  });

  test('a short line goes at once, and onceWritten answers at once when idle', async () => {
    const stream = new Writable({ write: (_c, _e, done) => done() });
    const writer = new LineWriter(stream);
    assert.equal(writer.line(['{}']), true);
    let called = false;
    writer.onceWritten(() => (called = true));
    assert.equal(called, true);
  });

  test('nothing is written to a destroyed stream, and its queue is dropped', () => {
    const stream = new HeldStream();
    const writer = new LineWriter(stream);
    writer.line([Buffer.alloc(3 * WRITE_PIECE_BYTES)]);
    stream.destroy();
    writer.line(['more']);
    assert.equal(stream.bytes.length, WRITE_PIECE_BYTES);
  });
});
