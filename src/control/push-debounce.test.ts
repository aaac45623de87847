/** The push debounce on fake time: Istio's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX semantics, one push at a time. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../clock.js';
import { PushDebounce } from './push-debounce.js';

class FakeClock implements Clock {
  t = 0;
  #timers: Array<{ at: number; fn: () => void }> = [];
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): NodeJS.Timeout => {
    this.#timers.push({ at: this.t + ms, fn });
    return undefined as unknown as NodeJS.Timeout;
  };
  /** Moves time forward to `to`, running each timer at its due time. */
  async advanceTo(to: number): Promise<void> {
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next === undefined || next.at > to) break;
      this.#timers.shift();
      this.t = next.at;
      next.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = to;
  }
}

function debounced(o: { pushTakes?: () => Promise<void> } = {}) {
  const clock = new FakeClock();
  const pushes: number[] = [];
  const debounce = new PushDebounce({
    clock,
    afterMs: 100,
    maxMs: 1000,
    push: async () => {
      pushes.push(clock.now());
      await o.pushTakes?.();
    },
    onError: (err) => assert.fail(String(err)),
  });
  return { clock, pushes, debounce };
}

describe('push debounce', () => {
  test('one change pushes once, after 100 ms of quiet', async () => {
    const { clock, pushes, debounce } = debounced();
    debounce.changed();
    await clock.advanceTo(99);
    assert.deepEqual(pushes, []);
    await clock.advanceTo(500);
    assert.deepEqual(pushes, [100]);
  });

  test('a burst is one push, 100 ms after its last change', async () => {
    const { clock, pushes, debounce } = debounced();
    for (const at of [0, 30, 60, 90, 150]) {
      await clock.advanceTo(at);
      debounce.changed();
    }
    await clock.advanceTo(2000);
    assert.deepEqual(pushes, [250]);
  });

  test('changes that never pause still push every 1000 ms (the max)', async () => {
    const { clock, pushes, debounce } = debounced();
    for (let at = 0; at <= 2500; at += 50) {
      await clock.advanceTo(at);
      debounce.changed();
    }
    await clock.advanceTo(5000);
    assert.deepEqual(pushes, [1000, 2000, 2600]);
  });

  test('changes during a push go into the next one, debounced from when they came', async () => {
    let finish: () => void = () => undefined;
    const { clock, pushes, debounce } = debounced({ pushTakes: () => new Promise<void>((r) => (finish = r)) });
    debounce.changed();
    await clock.advanceTo(100);
    assert.deepEqual(pushes, [100]);
    await clock.advanceTo(150);
    debounce.changed();
    await clock.advanceTo(400);
    assert.deepEqual(pushes, [100], 'no second push while one is under way');
    finish();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(pushes, [100, 400], 'quiet for 250 ms already: pushed at once');
  });

  test('nothing pushes after stop', async () => {
    const { clock, pushes, debounce } = debounced();
    debounce.changed();
    debounce.stop();
    await clock.advanceTo(5000);
    assert.deepEqual(pushes, []);
  });
});
