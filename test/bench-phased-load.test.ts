/** bench/phased-load.ts, which the fault tests and the faults bench count requests with, against scripted requests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { phasedLoad } from '../bench/phased-load.js';

test('each request counts in the phase it was sent in, by outcome and reason; phase() waits for the earlier ones', async () => {
  let mode: 'ok' | 'down' = 'ok';
  const held: Array<() => void> = [];
  let hold = false;
  let failures = 0;
  const load = phasedLoad(async () => {
    const sentIn = mode;
    if (hold) await new Promise<void>((r) => held.push(r));
    if (sentIn === 'ok') return { status: 200, body: 'fine' };
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    if (failures++ % 2 === 0) throw err;
    return { status: 503, body: 'no healthy upstream\nsecond line' };
  }, 'up', 2);
  await sleep(20);
  // Two requests held in flight across the phase change: they stay in "up", and phase() waits for them.
  hold = true;
  await sleep(20);
  mode = 'down';
  let switched = false;
  const switching = load.phase('down').then(() => (switched = true));
  await sleep(20);
  assert.equal(switched, false, 'phase() waits for the requests sent before it');
  hold = false;
  for (const release of held.splice(0)) release();
  await switching;
  await sleep(20);
  const [up, down] = await load.stop();

  assert.equal(up?.name, 'up');
  assert.deepEqual(up.outcomes, { '200': up.sent });
  assert.equal(up.failed, 0);
  assert.equal(up.failedBetweenMs, null);
  assert.equal(down?.name, 'down');
  assert.equal(down.succeeded, 0);
  assert.equal(down.failed, down.sent);
  // Refusals by their error code, answers by status; the reason keeps the body's first line or the error message.
  assert.deepEqual(down.outcomes, { '503': Math.floor(down.sent / 2), ECONNREFUSED: Math.ceil(down.sent / 2) });
  assert.deepEqual(down.reasons, {
    'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1': Math.ceil(down.sent / 2),
    '503: no healthy upstream': Math.floor(down.sent / 2),
  });
  assert.ok(down.failedBetweenMs !== null && down.failedBetweenMs.first >= down.startMs && down.failedBetweenMs.last <= down.endMs);
  assert.ok(up.endMs === down.startMs && down.endMs >= down.startMs);
});

test('requests that fail without touching the event loop do not starve it: timers run and stop() returns', async () => {
  const load = phasedLoad(() => Promise.reject(new TypeError('refused at once')), 'refused', 4);
  await sleep(30);
  const [p] = await load.stop();
  assert.ok(p !== undefined && p.sent > 0 && p.failed === p.sent);
  assert.deepEqual(p.reasons, { 'TypeError: refused at once': p.sent });
});

test('untilSent waits for the current phase to send so many requests, and no longer than its timeout', async () => {
  let slow = false;
  const load = phasedLoad(async () => {
    await sleep(slow ? 200 : 2);
    return { status: 200, body: 'fine' };
  }, 'first', 2);
  await load.untilSent(40, 10_000);
  await load.phase('second');
  slow = true;
  const started = performance.now();
  // Two workers at 200 ms a request cannot send 1,000 in 300 ms: the timeout ends the wait.
  await load.untilSent(1000, 300);
  const waited = performance.now() - started;
  const [first, second] = await load.stop();
  assert.ok((first?.sent ?? 0) >= 40, `first sent ${first?.sent}`);
  assert.ok(waited >= 300 && waited < 5000, `waited ${waited} ms`);
  assert.ok((second?.sent ?? 0) < 1000);
});
