/**
 * The proxy's side of deltas: applied in order against the config last applied, a delta against another version
 * asks for the whole config once and waits for it, and a delta that cannot be merged or applied is NACKed with the
 * last good config kept.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyMessage } from '../../push/protocol.js';
import { ConfigReceiver } from './config-receiver.js';

const svc = (host: string, port: number) => ({ host, port });
const config = (version: string, services: Array<{ host: string; port: number }>) => ({ version, outbound: { services, externals: [], trafficPolicy: 'ALLOW_ANY' } });

function receiver(reject: (config: unknown) => string | undefined = () => undefined) {
  const sent: ProxyMessage[] = [];
  const applied: unknown[] = [];
  const r = new ConfigReceiver({
    // Applies asynchronously, as a proxy that reconciles listeners does.
    onConfig: async (c) => {
      await new Promise((res) => setImmediate(res));
      const why = reject(c);
      if (why !== undefined) throw new Error(why);
      applied.push(c);
      return (c as { version: string }).version;
    },
    send: (m) => sent.push(m),
    log: { info: () => undefined, warn: () => undefined },
  });
  const settled = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
  };
  return { r, sent, applied, settled };
}

const delta = (base: string, version: string, services: unknown) => ({ type: 'config-delta', base, version, outbound: { services } });

describe('ConfigReceiver', () => {
  test('deltas arriving back to back apply in order, each on the one before', async () => {
    const { r, sent, applied, settled } = receiver();
    r.full(config('v1', [svc('a', 1), svc('b', 1)]));
    r.delta(delta('v1', 'v2', { set: [svc('b', 2)] }));
    r.delta(delta('v2', 'v3', { set: [svc('c', 1)], remove: ['a'], order: ['c', 'b'] }));
    await settled();
    assert.deepEqual(sent, [{ type: 'ack', version: 'v1' }, { type: 'ack', version: 'v2' }, { type: 'ack', version: 'v3' }]);
    assert.deepEqual(applied.at(-1), config('v3', [svc('c', 1), svc('b', 2)]));
    assert.equal(r.appliedVersion, 'v3');
  });

  test('a delta against another version asks for the whole config once, and later deltas wait for it', async () => {
    const { r, sent, settled } = receiver();
    r.full(config('v1', [svc('a', 1)]));
    r.delta(delta('v7', 'v8', { set: [svc('a', 8)] }));
    r.delta(delta('v8', 'v9', { set: [svc('a', 9)] }));
    await settled();
    assert.deepEqual(sent, [{ type: 'ack', version: 'v1' }, { type: 'resync', have: 'v1', reason: 'delta against v7' }]);
    r.full(config('v9', [svc('a', 9)]));
    r.delta(delta('v9', 'v10', { set: [svc('a', 10)] }));
    await settled();
    assert.deepEqual(sent.slice(2), [{ type: 'ack', version: 'v9' }, { type: 'ack', version: 'v10' }]);
  });

  test('a delta before any config asks for the whole config', async () => {
    const { r, sent, settled } = receiver();
    r.delta(delta('v1', 'v2', {}));
    await settled();
    assert.deepEqual(sent, [{ type: 'resync', have: null, reason: 'delta against v1' }]);
  });

  test('a rejected delta is NACKed and the next delta against the last good version applies', async () => {
    const { r, sent, settled } = receiver((c) => ((c as { outbound: { services: Array<{ port: number }> } }).outbound.services.some((s) => s.port === 0) ? 'port 0' : undefined));
    r.full(config('v1', [svc('a', 1)]));
    r.delta(delta('v1', 'v2', { set: [svc('a', 0)] }));
    r.delta(delta('v1', 'v3', { set: [svc('a', 3)] }));
    await settled();
    assert.deepEqual(sent, [{ type: 'ack', version: 'v1' }, { type: 'nack', version: 'v2', reason: 'port 0' }, { type: 'ack', version: 'v3' }]);
  });

  test('a delta that cannot be read or merged is NACKed with why', async () => {
    const { r, sent, settled } = receiver();
    r.full(config('v1', [svc('a', 1)]));
    r.delta({ type: 'config-delta', base: 'v1', version: 'v2', outbound: { services: { remove: ['zzz'] } } });
    r.delta({ type: 'config-delta', base: 'v1', version: 'v3', surprise: true });
    r.delta(delta('v1', 'v4', { set: [svc('b', 1)] }));
    await settled();
    assert.equal(sent.length, 4);
    assert.deepEqual(sent.slice(1).map((m) => m.type), ['nack', 'nack', 'nack']);
    assert.match((sent[1] as { reason: string }).reason, /removes zzz/);
    assert.match((sent[2] as { reason: string }).reason, /malformed/);
    assert.match((sent[3] as { reason: string }).reason, /without their order/);
    assert.equal(r.appliedVersion, 'v1');
  });
});
