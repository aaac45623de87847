import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../clock.js';
import { SupervisedProcess } from './process-supervisor.js';

/** Time that moves only when the test says; restart timers wait until the test fires them. */
class FakeClock implements Clock {
  nowMs = 0;
  timers: Array<{ fn: () => void; delay: number }> = [];
  now(): number {
    return this.nowMs;
  }
  setTimeout(fn: () => void, delay: number): NodeJS.Timeout {
    this.timers.push({ fn, delay });
    return setTimeout(() => undefined, 0);
  }
}

test('restarts are counted for good while the backoff starts again after a healthy run', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-supervisor-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock();
  const exits: number[] = [];
  let exited: () => void = () => undefined;
  const proc = new SupervisedProcess(
    { name: 'exits', command: process.execPath, args: ['-e', 'process.exit(3)'], env: {}, logFile: path.join(dir, 'exits.log') },
    { onExit: (code) => (exits.push(code ?? -1), exited()) },
    clock,
  );
  const nextExit = (): Promise<void> => new Promise((resolve) => (exited = resolve));
  const fire = (): void => clock.timers.shift()!.fn();

  let exit = nextExit();
  await proc.start();
  await exit;
  // Crashed at once: the first backoff step.
  assert.deepEqual({ restarts: proc.restarts, delays: clock.timers.map((x) => x.delay) }, { restarts: 1, delays: [500] });
  exit = nextExit();
  fire();
  await exit;
  assert.deepEqual({ restarts: proc.restarts, delays: clock.timers.map((x) => x.delay) }, { restarts: 2, delays: [1000] });
  exit = nextExit();
  fire();
  // This run lasts a minute before it exits: the backoff is reset, the count is not.
  clock.nowMs += 60_000;
  await exit;
  assert.deepEqual({ restarts: proc.restarts, delays: clock.timers.map((x) => x.delay) }, { restarts: 3, delays: [500] });
  assert.deepEqual(exits, [3, 3, 3]);
  await proc.stop();
  assert.equal(proc.state, 'stopped');
});
