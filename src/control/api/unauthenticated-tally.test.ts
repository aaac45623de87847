import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RefusalEvent } from '../store/audit-chain.js';
import { OVERFLOW_SOURCE, UnauthenticatedTally } from './unauthenticated-tally.js';

const refusal = (reason: string): RefusalEvent => ({
  type: 'refusal',
  actor: null,
  method: 'GET',
  path: '/api/v1/resources',
  code: 'UNAUTHENTICATED',
  status: 401,
  reason,
});

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number): string => new Date(ms).toISOString();

test('per source and interval: the first call at once, the rest as one counted entry when the interval ends', () => {
  const clock = { now: T0 };
  const tally = new UnauthenticatedTally({ clock: () => clock.now, intervalMs: 60_000 });
  assert.deepEqual(tally.note('10.0.0.1', refusal('r0')), [{ ...refusal('r0'), source: '10.0.0.1' }]);
  const written: RefusalEvent[] = [];
  for (let i = 1; i <= 1000; i++) {
    clock.now = T0 + i * 50;
    written.push(...tally.note('10.0.0.1', refusal(`r${i}`)));
  }
  assert.deepEqual(written, []);
  assert.deepEqual(tally.flush(), []);
  clock.now = T0 + 60_000;
  assert.deepEqual(tally.flush(), [
    {
      ...refusal('1000 more unauthenticated calls from 10.0.0.1 (last: r1000)'),
      source: '10.0.0.1',
      count: 1000,
      firstTime: iso(T0 + 50),
      lastTime: iso(T0 + 1000 * 50),
    },
  ]);
  // Calls at the interval's edge belong to a new interval: the next one is again recorded at once.
  assert.deepEqual(tally.note('10.0.0.1', refusal('again')), [{ ...refusal('again'), source: '10.0.0.1' }]);
  // A lone call leaves nothing to summarize.
  clock.now += 60_000;
  assert.deepEqual(tally.flush(), []);
});

test('a new call after the interval brings out the summary first; flush(all) at stop writes every open count', () => {
  const clock = { now: T0 };
  const tally = new UnauthenticatedTally({ clock: () => clock.now, intervalMs: 1000 });
  tally.note('a', refusal('a0'));
  tally.note('a', refusal('a1'));
  tally.note('b', refusal('b0'));
  tally.note('b', refusal('b1'));
  clock.now = T0 + 1000;
  assert.deepEqual(
    tally.note('a', refusal('a2')).map((e) => [e.source, e.count ?? 1, e.reason]),
    [
      ['a', 1, '1 more unauthenticated calls from a (last: a1)'],
      ['b', 1, '1 more unauthenticated calls from b (last: b1)'],
      ['a', 1, 'a2'],
    ],
  );
  tally.note('a', refusal('a3'));
  assert.deepEqual(tally.flush(true).map((e) => [e.source, e.count]), [['a', 1]]);
  assert.deepEqual(tally.flush(true), []);
});

test('the chain grows by at most 2 × (maxSources + 1) entries per interval, however many sources call', () => {
  const clock = { now: T0 };
  const tally = new UnauthenticatedTally({ clock: () => clock.now, intervalMs: 1000, maxSources: 3 });
  const written: RefusalEvent[] = [];
  for (let i = 0; i < 500; i++) written.push(...tally.note(`198.18.${Math.floor(i / 250)}.${i % 250}`, refusal(`r${i}`)));
  clock.now += 1000;
  written.push(...tally.flush());
  assert.equal(written.length, 5);
  assert.deepEqual(
    written.map((e) => [e.source, e.count ?? 1]),
    [
      ['198.18.0.0', 1],
      ['198.18.0.1', 1],
      ['198.18.0.2', 1],
      [OVERFLOW_SOURCE, 1],
      [OVERFLOW_SOURCE, 496],
    ],
  );
  assert.throws(() => new UnauthenticatedTally({ clock: () => 0, intervalMs: 0 }), TypeError);
});
