/**
 * The history and audit-chain part of the store conformance suite (run by `runStoreConformance`, so every backend
 * passes it): reading any kept revision back, who changed what, the chain's content and links, and retention
 * that removes bodies without touching the chain.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { isWeftError } from '../../errors.js';
import { GENESIS_HASH, verifyChain } from './audit-chain.js';
import { contentSha256 } from './resource-content.js';
import type { ResourceStore } from './types.js';

export type WithStore = (body: (store: ResourceStore, clock: { now: number }) => Promise<void>) => Promise<void>;

function vs(name: string, hosts: string[]): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default', labels: {}, annotations: {} },
    spec: { hosts },
  };
}

const key = (name: string): ResourceKey => ({ kind: 'VirtualService', namespace: 'default', name });
const unsigned = { checkSignature: () => false };

export function runHistoryConformance(withStore: WithStore): void {
  test('getAt and listAt return objects as they were at a revision, before later changes and deletes', () =>
    withStore(async (store) => {
      await store.apply([vs('a', ['v1']), vs('b', ['b1'])], 'alice');
      const [changed] = await store.apply([vs('a', ['v2'])], 'bob');
      await store.delete([key('b')], 'carol');
      assert.equal(changed?.resource.metadata.resourceVersion, '3');
      const atTwo = await store.getAt(key('a'), 2);
      assert.deepEqual(atTwo?.spec, { hosts: ['v1'] });
      assert.equal(atTwo?.metadata.resourceVersion, '1');
      assert.deepEqual((await store.getAt(key('a'), 4))?.spec, { hosts: ['v2'] });
      assert.deepEqual((await store.getAt(key('b'), 3))?.spec, { hosts: ['b1'] });
      assert.equal(await store.getAt(key('b'), 4), undefined);
      assert.equal(await store.getAt(key('a'), 0), undefined);
      const names = async (rev: number) => (await store.listAt({ kind: 'VirtualService' }, rev)).map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`);
      assert.deepEqual(await names(0), []);
      assert.deepEqual(await names(2), ['a@1', 'b@2']);
      assert.deepEqual(await names(3), ['a@3', 'b@2']);
      assert.deepEqual(await names(4), ['a@3']);
      assert.deepEqual(await store.listAt({ kind: 'VirtualService' }, 4), await store.list({ kind: 'VirtualService' }));
      await assert.rejects(store.getAt(key('a'), 5), (err) => isWeftError(err, 'BAD_REQUEST'));
    }));

  test('revisionAt maps a time to the last change at or before it', () =>
    withStore(async (store) => {
      const [first] = await store.apply([vs('a', ['v1'])], 'alice');
      const [second] = await store.apply([vs('a', ['v2'])], 'alice');
      const t1 = Date.parse(first?.resource.metadata.creationTimestamp ?? '');
      const t2 = Date.parse((await store.history(key('a')))[1]?.time ?? '');
      assert.equal(second?.resource.metadata.resourceVersion, '2');
      assert.equal(await store.revisionAt(new Date(t1 - 1).toISOString()), 0);
      assert.equal(await store.revisionAt(new Date(t1).toISOString()), 1);
      assert.equal(await store.revisionAt(new Date(t2 - 1).toISOString()), 1);
      assert.equal(await store.revisionAt(new Date(t2).toISOString()), 2);
    }));

  test('history lists every revision with who (name and credential), when and how', () =>
    withStore(async (store) => {
      await store.apply([vs('a', ['v1'])], { name: 'alice', credentialId: '0123456789abcdef' });
      await store.setStatus(key('a'), { ok: true }, 'runtime');
      await store.delete([key('a')], 'bob');
      const h = await store.history(key('a'));
      assert.deepEqual(
        h.map((r) => [r.revision, r.verb, r.actor, r.resource === null ? null : r.resource.metadata.resourceVersion]),
        [
          [1, 'create', { name: 'alice', credentialId: '0123456789abcdef' }, '1'],
          [2, 'status', { name: 'runtime' }, '2'],
          [3, 'delete', { name: 'bob' }, null],
        ],
      );
      assert.equal(h[0]?.contentSha256, contentSha256(h[0]?.resource as never));
      assert.deepEqual(await store.history(key('ghost')), []);
    }));

  test('each change is a chain entry with actor, credential, old and new hashes and a diff; entries link by hash', () =>
    withStore(async (store) => {
      const [created] = await store.apply([vs('a', ['v1'])], { name: 'alice', credentialId: 'c1' });
      const [updated] = await store.apply([vs('a', ['v2'])], 'bob');
      await store.appendAudit({ type: 'push', proxy: 'sidecar/default/a', outcome: 'ack', configVersion: 'abc', configSha256: 'f'.repeat(64) });
      await store.appendAudit({ type: 'refusal', actor: null, method: 'POST', path: '/api/v1/apply', code: 'UNAUTHENTICATED', status: 401, reason: 'no credential' });
      await store.delete([key('a')], 'carol');
      const log = await store.auditLog();
      assert.deepEqual(log.map((e) => [e.seq, e.type]), [[1, 'change'], [2, 'change'], [3, 'push'], [4, 'refusal'], [5, 'change']]);
      const [c1, c2, , , c5] = log;
      assert.ok(c1?.type === 'change' && c2?.type === 'change' && c5?.type === 'change');
      assert.deepEqual([c1.actor, c1.verb, c1.revision, c1.oldSha256, c1.newSha256], [{ name: 'alice', credentialId: 'c1' }, 'create', 1, null, contentSha256(created!.resource)]);
      assert.deepEqual(c1.diff, [{ op: 'add', path: '', value: created!.resource }]);
      assert.deepEqual([c2.oldSha256, c2.newSha256], [contentSha256(created!.resource), contentSha256(updated!.resource)]);
      assert.deepEqual(c2.diff, [
        { op: 'replace', path: '/metadata/resourceVersion', value: '2' },
        { op: 'replace', path: '/spec/hosts/0', value: 'v2' },
      ]);
      assert.deepEqual([c5.verb, c5.oldSha256, c5.newSha256, c5.diff], ['delete', contentSha256(updated!.resource), null, []]);
      assert.equal(log[0]?.prev, GENESIS_HASH);
      for (let i = 1; i < log.length; i++) assert.equal(log[i]?.prev, log[i - 1]?.hash);
      const report = verifyChain(log, unsigned);
      assert.deepEqual([report.ok, report.entries, report.lastSeq, report.lastHash], [true, 5, 5, log[4]?.hash]);
      assert.deepEqual(await store.auditTail(), log[4]);
      assert.deepEqual((await store.auditLog({ type: 'push' })).map((e) => e.seq), [3]);
      assert.deepEqual((await store.auditLog({ sinceRevision: 2 })).map((e) => e.seq), [3, 4, 5]);
      assert.deepEqual((await store.auditLog({ afterSeq: 3, limit: 1 })).map((e) => e.seq), [4]);
      assert.deepEqual((await store.auditLog({ resourceKind: 'Service' })).map((e) => e.seq), []);
      assert.deepEqual((await store.audit()).map((a) => [a.revision, a.actor]), [[1, 'alice'], [2, 'bob'], [3, 'carol']]);
    }));

  test('retention removes history before its floor, reads from the floor on are unchanged, and the chain stays whole', () =>
    withStore(async (store) => {
      await store.apply([vs('a', ['v1']), vs('b', ['b1'])], 'alice');
      await store.apply([vs('a', ['v2'])], 'alice');
      await store.delete([key('b')], 'alice');
      await store.apply([vs('a', ['v3'])], 'alice');
      const before = await Promise.all([3, 4, 5].map((r) => store.listAt({}, r)));
      const chain = await store.auditLog();
      assert.equal(await store.pruneHistory(4), 4);
      assert.deepEqual(await Promise.all([3, 4, 5].map((r) => store.listAt({}, r).catch((e: unknown) => (e as { code: string }).code))), ['HISTORY_PRUNED', before[1], before[2]]);
      await assert.rejects(store.getAt(key('a'), 2), (err) => isWeftError(err, 'HISTORY_PRUNED'));
      assert.deepEqual((await store.history(key('a'))).map((r) => r.revision), [3, 5]);
      assert.deepEqual(await store.auditLog(), chain);
      assert.equal(verifyChain(await store.auditLog(), unsigned).ok, true);
      assert.equal(await store.pruneHistory(1), 4, 'the floor never goes back');
    }));
}
