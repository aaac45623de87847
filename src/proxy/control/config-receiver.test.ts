/**
 * The proxy's side of deltas: applied in order against the config last applied, a delta against another version
 * asks for the whole config once and waits for it, and a delta that cannot be merged or applied is NACKed with the
 * last good config kept.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyMessage } from '../../push/protocol.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import { outboundService, proxyConfig } from '../config/proxy-config.fixture.js';
import { ConfigReceiver } from './config-receiver.js';

/** Service `name` with one port: a delta changes the port. */
const svc = (name: string, port: number) => outboundService(name, [port]);
const config = proxyConfig;

function receiver(reject: (config: CompiledProxyConfig) => string | undefined = () => undefined) {
  const sent: ProxyMessage[] = [];
  const applied: CompiledProxyConfig[] = [];
  const r = new ConfigReceiver({
    // Applies asynchronously, as a proxy that reconciles listeners does.
    onConfig: async (c) => {
      await new Promise((res) => setImmediate(res));
      const why = reject(c);
      if (why !== undefined) throw new Error(why);
      applied.push(c);
      return c.version;
    },
    send: (m) => sent.push(m),
    log: { info: () => undefined, warn: () => undefined },
  });
  const settled = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
  };
  return { r, sent, applied, settled };
}

/** A delta as it comes off the wire: its own objects, never the test's. */
const delta = (base: string, version: string, services: unknown) => JSON.parse(JSON.stringify({ type: 'config-delta', base, version, outbound: { services } })) as unknown;
const host = (name: string) => `${name}.shop.svc.cluster.local`;

describe('ConfigReceiver', () => {
  test('deltas arriving back to back apply in order, each on the one before', async () => {
    const { r, sent, applied, settled } = receiver();
    r.full(config('v1', [svc('a', 1), svc('b', 1)]));
    r.delta(delta('v1', 'v2', { set: [svc('b', 2)] }));
    r.delta(delta('v2', 'v3', { set: [svc('c', 1)], remove: [host('a')], order: [host('c'), host('b')] }));
    await settled();
    assert.deepEqual(sent, [{ type: 'ack', version: 'v1' }, { type: 'ack', version: 'v2' }, { type: 'ack', version: 'v3' }]);
    assert.deepEqual(applied.at(-1)?.raw, config('v3', [svc('c', 1), svc('b', 2)]));
    // Compiled as the same config whole would be.
    assert.deepEqual([...applied.at(-1)!.byHost.keys()], [...acceptProxyConfig(config('v3', [svc('c', 1), svc('b', 2)])).byHost.keys()]);
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
    const { r, sent, settled } = receiver((c) => (c.raw.outbound.services.some((s) => s.ports.some((p) => p.port === 99)) ? 'port 99' : undefined));
    r.full(config('v1', [svc('a', 1)]));
    r.delta(delta('v1', 'v2', { set: [svc('a', 99)] }));
    r.delta(delta('v1', 'v3', { set: [svc('a', 3)] }));
    await settled();
    assert.deepEqual(sent, [{ type: 'ack', version: 'v1' }, { type: 'nack', version: 'v2', reason: 'port 99' }, { type: 'ack', version: 'v3' }]);
  });

  test('a delta whose merged config the schema refuses is NACKed with the reason a whole config gets', async () => {
    const { r, sent, applied, settled } = receiver();
    r.full(config('v1', [svc('a', 1), svc('b', 1)]));
    const bad = { ...svc('b', 2), protocol: 'http' };
    r.delta(delta('v1', 'v2', { set: [bad] }));
    r.delta(JSON.parse(JSON.stringify({ type: 'config-delta', base: 'v1', version: 'v3', sections: { trustDomain: 7 } })));
    r.delta(delta('v1', 'v4', { set: [svc('b', 4)] }));
    await settled();
    const whole = (c: unknown): string => {
      try {
        acceptProxyConfig(c);
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    assert.deepEqual(sent, [
      { type: 'ack', version: 'v1' },
      { type: 'nack', version: 'v2', reason: whole(config('v2', [svc('a', 1), bad as never])) },
      { type: 'nack', version: 'v3', reason: whole({ ...config('v3', [svc('a', 1), svc('b', 1)]), trustDomain: 7 }) },
      { type: 'ack', version: 'v4' },
    ]);
    assert.match((sent[1] as { reason: string }).reason, /^invalid config at outbound\.services\.1: /);
    assert.deepEqual(applied.map((c) => c.version), ['v1', 'v4']);
  });

  test('a whole config the schema refuses is NACKed and the last good one stays the base', async () => {
    const { r, sent, settled } = receiver();
    r.full(config('v1', [svc('a', 1)]));
    r.full({ ...config('v2', [svc('a', 2)]), surprise: true });
    r.delta(delta('v1', 'v3', { set: [svc('a', 3)] }));
    await settled();
    assert.deepEqual(sent.map((m) => m.type), ['ack', 'nack', 'ack']);
    assert.match((sent[1] as { reason: string }).reason, /^invalid config at \(root\)/);
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
