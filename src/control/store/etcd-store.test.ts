import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import type { Resource } from '../../config/resource.js';
import { startTestEtcd } from '../../../test/support/etcd-cluster.js';
import type { TestEtcd } from '../../../test/support/etcd-cluster.js';
import { startTcpRelay } from '../../../test/support/tcp-relay.js';
import { verifyChain } from './audit-chain.js';
import { openEtcdStore } from './etcd-connect.js';
import type { EtcdStore } from './etcd-connect.js';
import { runStoreConformance } from './store.conformance.js';
import type { StoreBackend } from './store.conformance.js';
import type { Clock, StoreEvent } from './types.js';

// One 3-member cluster on loopback for the whole file; each test gets its own key prefix.
let cluster: Promise<TestEtcd> | undefined;
const etcd = (): Promise<TestEtcd> => (cluster ??= startTestEtcd(3));
after(async () => {
  if (cluster !== undefined) await (await cluster).stop();
});

async function etcdBackend(): Promise<StoreBackend> {
  const { endpoints, members, compact } = await etcd();
  const prefix = `t-${randomBytes(6).toString('hex')}/`;
  const handles: EtcdStore[] = [];
  const closers: (() => Promise<void>)[] = [];
  const open = async (clock?: Clock, via: string[] = endpoints): Promise<EtcdStore> => {
    const store = await openEtcdStore({ endpoints: via, prefix, ...(clock === undefined ? {} : { clock }) });
    handles.push(store);
    return store;
  };
  return {
    open: ({ clock }) => open(clock),
    async cleanup() {
      for (const h of handles) await h.close();
      for (const c of closers) await c();
      const client = new Etcd3({ hosts: endpoints });
      await client.delete().prefix(prefix).exec();
      client.close();
    },
    shared: {
      open: () => open(),
      async openBehindRelay() {
        const member = members[0]!;
        const relay = await startTcpRelay({ host: member.spec.host, port: member.spec.clientPort });
        closers.push(() => relay.close());
        const store = await open(undefined, [`http://127.0.0.1:${relay.port}`]);
        return { store, cut: () => relay.cut(), heal: () => relay.heal(), catchUps: () => store.watchCatchUps };
      },
      compact,
    },
  };
}

runStoreConformance('etcd, 3 members', etcdBackend, { shared: true });

function svc(name: string): Resource {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels: {}, annotations: {} }, spec: { ports: [] } };
}

test('with one of three members killed, writes, reads and watches go on; the member rejoins', async () => {
  const backend = await etcdBackend();
  const { members } = await etcd();
  const store = await backend.open({ clock: Date.now });
  try {
    const events: StoreEvent[] = [];
    store.watch((e) => events.push(e));
    await store.apply([svc('before')], 'alice');
    const victim = members[1]!;
    victim.kill();
    for (let i = 0; i < 5; i++) await store.apply([svc(`during-${i}`)], 'alice');
    assert.equal(await store.revision(), 6);
    await victim.restart();
    await store.apply([svc('after')], 'alice');
    assert.deepEqual(events.map((e) => e.revision), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(verifyChain(await store.auditLog(), { checkSignature: () => false }).ok, true);
  } finally {
    await backend.cleanup();
  }
});

test('concurrent audit appends from one replica go in together: call order kept, chain whole, few etcd transactions', async () => {
  const backend = await etcdBackend();
  const { endpoints } = await etcd();
  const store = await backend.open({ clock: Date.now });
  const probe = new Etcd3({ hosts: endpoints });
  const etcdRevision = async (): Promise<number> => Number((await probe.get('weft-probe').exec()).header.revision);
  try {
    await store.apply([svc('a')], 'alice');
    const before = await etcdRevision();
    const entries = await Promise.all(
      Array.from({ length: 300 }, (_, i) => store.appendAudit({ type: 'push', proxy: `sidecar/default/p${i}`, outcome: 'ack', configVersion: String(i), configSha256: null })),
    );
    assert.deepEqual(entries.map((e) => e.seq), Array.from({ length: 300 }, (_, i) => i + 2));
    assert.deepEqual(entries.map((e) => (e.type === 'push' ? e.configVersion : '')), Array.from({ length: 300 }, (_, i) => String(i)));
    const transactions = (await etcdRevision()) - before;
    assert.ok(transactions <= 10, `300 appends took ${transactions} etcd transactions`);
    assert.equal(verifyChain(await store.auditLog({ limit: 1000 }), { checkSignature: () => false }).ok, true);
  } finally {
    probe.close();
    await backend.cleanup();
  }
});

test('push records wait while a push goes on and are written once it settles; other records go at once, after them', async () => {
  const backend = await etcdBackend();
  // A clock that stands still: when records are written must not depend on the clock that stamps them.
  const store = await backend.open({ clock: () => Date.parse('2026-01-01T00:00:00Z') });
  const push = (i: number) => store.appendAudit({ type: 'push', proxy: `sidecar/default/p${i}`, outcome: 'sent', configVersion: String(i), configSha256: null });
  const pushes = (from: number): number[] => Array.from({ length: 8 }, (_, i) => from + i);
  try {
    await store.apply([svc('a')], 'alice');
    // A push that goes on for about a second, a record every 50 ms: none is written while it lasts.
    const sent: Promise<unknown>[] = [];
    for (const i of pushes(0).concat(pushes(8), pushes(16))) {
      sent.push(push(i));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await store.auditLog({ type: 'push' })).length, 0, 'nothing written while the push goes on');
    await Promise.all(sent);
    assert.deepEqual((await store.auditLog({ type: 'push' })).map((e) => (e.type === 'push' ? Number(e.configVersion) : -1)), pushes(0).concat(pushes(8), pushes(16)));
    // A refusal is not held back, and the push records queued before it go with it, in order.
    const waiting = pushes(24).map(push);
    await store.appendAudit({ type: 'refusal', actor: null, method: 'GET', path: '/api/v1/resources', status: 401, code: 'UNAUTHENTICATED', reason: 'no credential' });
    await Promise.all(waiting);
    const tail = (await store.auditLog({ limit: 1000 })).slice(-9);
    assert.deepEqual(tail.map((e) => e.type), [...Array(8).fill('push'), 'refusal']);
  } finally {
    await backend.cleanup();
  }
});
