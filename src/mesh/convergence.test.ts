import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Clock } from '../clock.js';
import { isWeftError } from '../errors.js';
import { waitForConvergence } from './convergence.js';

/** Each poll's wait passes at once and moves time on by its length. */
function fakeClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      now += ms;
      queueMicrotask(fn);
      return setTimeout(() => undefined, 0);
    },
  };
}

const proxy = (id: string, sent: string, acked: string | null, nack: string | null = null): unknown => ({
  id,
  connected: true,
  sentVersion: sent,
  ackedVersion: acked,
  lastNack: nack === null ? null : { version: sent, reason: nack, at: '' },
});

test('converged: every proxy acknowledged the version it was sent, twice in a row', async () => {
  let polls = 0;
  const client = { proxies: async () => (polls++, [proxy('sidecar/default/a', '3', '3'), proxy('gateway/weft-system/gw', '3', '3')]) };
  await waitForConvergence(client, 2, 30_000, fakeClock());
  assert.equal(polls, 2);
});

test('a proxy that rejected its latest config fails at once, with its own reason', async () => {
  let polls = 0;
  const reason = 'listen EADDRINUSE: address already in use 127.0.0.1:8080';
  const client = { proxies: async () => (polls++, [proxy('sidecar/default/a', '3', '3'), proxy('gateway/weft-system/gw', '3', null, reason)]) };
  await assert.rejects(waitForConvergence(client, 2, 30_000, fakeClock()), (e: unknown) =>
    isWeftError(e, 'MESH_NOT_CONVERGED') && e.message === `gateway/weft-system/gw rejected its configuration: ${reason}`);
  assert.equal(polls, 1);
});

test('a NACK of an older version is history: the proxy acknowledged a newer one', async () => {
  const older = { ...(proxy('gateway/weft-system/gw', '4', '4') as object), lastNack: { version: '3', reason: 'bad', at: '' } };
  await waitForConvergence({ proxies: async () => [older] }, 1, 30_000, fakeClock());
});

test('the timeout names the proxies that have not acknowledged, and those that never connected', async () => {
  const client = { proxies: async () => [proxy('sidecar/default/a', '3', '3'), proxy('sidecar/default/b', '3', '2')] };
  await assert.rejects(waitForConvergence(client, 3, 30_000, fakeClock()), (e: unknown) =>
    isWeftError(e, 'MESH_NOT_CONVERGED') &&
    e.message === 'proxies did not all acknowledge their configuration in 30 s (sidecar/default/b, 1 not connected; see weft status)');
});
