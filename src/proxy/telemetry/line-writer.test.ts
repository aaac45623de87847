/** LineWriter: lines queued while a write is under way go out once it completes, however the timers fell. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineWriter } from './line-writer.js';
import type { WriteText } from './line-writer.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5_000; !ok(); await sleep(10)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
  }
}

test('the window timer firing during a slow write does not strand the lines queued behind it', async () => {
  const written: string[] = [];
  let release: (() => void) | undefined;
  // A disk that holds each write until the test lets it complete.
  const slow: WriteText = (_fd, text, done) => {
    written.push(text);
    release = () => done(null);
  };
  let queued: string[] = [];
  const writer = new LineWriter(-1, () => {
    const text = queued.join('');
    queued = [];
    return text;
  }, slow);
  const add = (n: number): void => {
    for (let i = 0; i < n; i++) queued.push(`line ${i}\n`);
    writer.wake(queued.length);
  };
  const hold = setInterval(() => undefined, 1000);
  try {
    add(512); // a full batch goes out at once, and its write is held
    assert.equal(written.length, 1);
    add(3); // a few lines wait for the window ...
    await sleep(150); // ... whose timer fires while the write is still under way
    assert.equal(written.length, 1, 'nothing is written beside a write under way');
    release?.();
    await until('the three lines', () => written.length === 2);
    assert.equal(written[1], 'line 0\nline 1\nline 2\n');
    release?.();
    add(1); // and the window works as before afterwards
    await until('the next line', () => written.length === 3);
  } finally {
    clearInterval(hold);
  }
});
