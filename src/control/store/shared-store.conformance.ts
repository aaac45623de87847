/**
 * What a store shared by several control-plane replicas must do besides the single-process suite (run by
 * `runStoreConformance` for backends that declare themselves shared): writers on different handles make one
 * revision sequence and one audit chain, every handle's watchers see every writer's changes in revision order, and
 * a watch cut off while changes happen and the backend compacts resumes without losing or repeating one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../config/resource.js';
import { verifyChain } from './audit-chain.js';
import type { ControlStore, StoreEvent } from './types.js';

export interface SharedBackend {
  open(): Promise<ControlStore>;
  /** A handle whose connection can be cut and restored (a partition between one replica and the store). */
  openBehindRelay(): Promise<{ store: ControlStore; cut(): Promise<void>; heal(): void; catchUps(): number }>;
  /** Discards the backend's change history up to now (etcd's compaction). */
  compact(): Promise<void>;
}

function svc(name: string): Resource {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: {}, annotations: {} }, spec: { ports: [] } };
}

/** Resolves once `events` holds `count` events (the listener pushes and calls `check`). */
function collector(store: ControlStore): { events: StoreEvent[]; atLeast(count: number): Promise<void> } {
  const events: StoreEvent[] = [];
  let wanted: { count: number; resolve: () => void } | undefined;
  store.watch((e) => {
    events.push(e);
    if (wanted !== undefined && events.length >= wanted.count) wanted.resolve();
  });
  return {
    events,
    atLeast: (count) =>
      new Promise((resolve) => {
        if (events.length >= count) resolve();
        else wanted = { count, resolve };
      }),
  };
}

const unsigned = { checkSignature: () => false };

export function runSharedStoreConformance(withShared: (body: (backend: SharedBackend) => Promise<void>) => Promise<void>): void {
  test('concurrent writers on two handles make one revision sequence and one unbroken audit chain', () =>
    withShared(async (backend) => {
      const [a, b] = await Promise.all([backend.open(), backend.open()]);
      const seenByA = collector(a);
      const seenByB = collector(b);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        writes.push(a.apply([svc(`a${i}`)], 'replica-a'));
        writes.push(b.apply([svc(`b${i}`)], 'replica-b'));
        writes.push(b.appendAudit({ type: 'push', proxy: `sidecar/default/p${i}`, outcome: 'ack', configVersion: String(i), configSha256: null }));
      }
      await Promise.all(writes);
      assert.equal(await a.revision(), 24);
      const chain = await b.auditLog();
      assert.equal(chain.length, 36);
      assert.equal(verifyChain(chain, unsigned).ok, true);
      const changeRevisions = chain.flatMap((e) => (e.type === 'change' ? [e.revision] : []));
      assert.deepEqual(changeRevisions, Array.from({ length: 24 }, (_, i) => i + 1));
      await Promise.all([seenByA.atLeast(24), seenByB.atLeast(24)]);
      assert.deepEqual(seenByA.events.map((e) => e.revision), changeRevisions);
      assert.deepEqual(seenByB.events, seenByA.events);
    }));

  test('a watch cut off while another writer changes things and the backend compacts resumes with every change once', () =>
    withShared(async (backend) => {
      const writer = await backend.open();
      const { store: replica, cut, heal, catchUps } = await backend.openBehindRelay();
      const seen = collector(replica);
      await writer.apply([svc('x')], 'writer');
      await seen.atLeast(1);
      await cut();
      await writer.apply([svc('y'), svc('z')], 'writer');
      await writer.delete([{ kind: 'Service', namespace: 'default', name: 'x' }], 'writer');
      await backend.compact();
      heal();
      await seen.atLeast(4);
      assert.deepEqual(seen.events.map((e) => `${e.revision}:${e.type}:${e.resource.metadata.name}`), ['1:put:x', '2:put:y', '3:put:z', '4:delete:x']);
      assert.ok(catchUps() >= 1, 'the resumed watch found its revision compacted and caught up by reading');
      await replica.apply([svc('after')], 'replica');
      await seen.atLeast(5);
      assert.deepEqual(seen.events.map((e) => e.revision), [1, 2, 3, 4, 5]);
    }));
}
