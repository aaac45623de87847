/**
 * One suite for every ResourceStore backend (SQLite today, etcd later): whatever the backend, the control plane
 * must see the same revisions, the same all-or-nothing behaviour, the same watch order and the same audit trail.
 * A backend's test file calls `runStoreConformance` with a factory of fresh, empty backends.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Resource, ResourceKey } from '../../config/resource.js';
import { isWeftError } from '../../errors.js';
import { runHistoryConformance } from './history.conformance.js';
import { canonicalJson } from './resource-content.js';
import { runIdentityRecordsConformance } from './identity-records.conformance.js';
import { runSharedStoreConformance } from './shared-store.conformance.js';
import type { SharedBackend } from './shared-store.conformance.js';
import type { Clock, ControlStore, ResourceStore, StoreEvent } from './types.js';

export interface StoreBackend {
  /** Opens the backend's store; opening again after close() must see the same data. close() is idempotent. */
  open(options: { clock: Clock }): Promise<ControlStore>;
  /** Removes everything the backend created (temp files, keys), closing any handle still open. */
  cleanup(): Promise<void>;
  /** For backends several replicas share at once (etcd): the suite's multi-writer part runs on it. */
  shared?: SharedBackend;
}

/** A clock that advances one second per reading and can be armed to throw on its n-th next reading. */
class ScriptedClock {
  now = Date.UTC(2026, 0, 1);
  calls = 0;
  #failAt: number | undefined;
  readonly read: Clock = () => {
    this.calls++;
    if (this.#failAt !== undefined && this.calls === this.#failAt) throw new Error('clock failed (injected)');
    this.now += 1000;
    return this.now;
  };
  failOnNext(n: number): void {
    this.#failAt = this.calls + n;
  }
}

function vs(name: string, hosts: string[], extra: Partial<Resource['metadata']> = {}): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace: 'default', labels: {}, annotations: {}, ...extra },
    spec: { hosts },
  };
}

function svc(name: string, namespace = 'default'): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name }, annotations: {} },
    spec: { ports: [{ port: 9080, name: 'http' }] },
  };
}

const key = (kind: string, name: string, namespace = 'default'): ResourceKey => ({ kind, namespace, name });

async function snapshot(store: ResourceStore): Promise<unknown> {
  const revision = await store.revision();
  return {
    revision,
    resources: await store.list(),
    audit: await store.audit(),
    chain: await store.auditLog(),
    history: await store.listAt({}, revision),
  };
}

function sha256(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function runStoreConformance(name: string, makeBackend: () => Promise<StoreBackend>, options: { shared: boolean } = { shared: false }): void {
  const probeShared = options.shared;
  /** Runs `body` against a fresh store; the backend is cleaned up whatever happens. */
  async function withStore(body: (store: ControlStore, clock: ScriptedClock, backend: StoreBackend) => Promise<void>) {
    const backend = await makeBackend();
    const clock = new ScriptedClock();
    const store = await backend.open({ clock: clock.read });
    try {
      await body(store, clock, backend);
    } finally {
      await store.close();
      await backend.cleanup();
    }
  }

  describe(`ResourceStore conformance: ${name}`, () => {
    test('starts empty at revision 0', () =>
      withStore(async (store) => {
        assert.equal(await store.revision(), 0);
        assert.deepEqual(await store.list(), []);
        assert.deepEqual(await store.audit(), []);
        assert.equal(await store.get(key('Service', 'x')), undefined);
      }));

    test('apply reports created, configured and unchanged, and bumps the revision only for changes', () =>
      withStore(async (store) => {
        const cases: { step: string; input: Resource; result: string; bumps: boolean }[] = [
          { step: 'first apply', input: vs('r', ['a']), result: 'created', bumps: true },
          { step: 'same again', input: vs('r', ['a']), result: 'unchanged', bumps: false },
          { step: 'spec changed', input: vs('r', ['b']), result: 'configured', bumps: true },
          { step: 'label added', input: vs('r', ['b'], { labels: { x: '1' } }), result: 'configured', bumps: true },
          {
            step: 'annotation added',
            input: vs('r', ['b'], { labels: { x: '1' }, annotations: { note: 'n' } }),
            result: 'configured',
            bumps: true,
          },
          {
            step: 'only status and resourceVersion differ',
            input: { ...vs('r', ['b'], { labels: { x: '1' }, annotations: { note: 'n' }, resourceVersion: '99' }), status: { phase: 'X' } },
            result: 'unchanged',
            bumps: false,
          },
          {
            step: 'apiVersion changed',
            input: { ...vs('r', ['b'], { labels: { x: '1' }, annotations: { note: 'n' } }), apiVersion: 'networking.istio.io/v1beta1' },
            result: 'configured',
            bumps: true,
          },
        ];
        for (const c of cases) {
          const before = await store.revision();
          const [outcome] = await store.apply([c.input], 'alice');
          assert.ok(outcome, c.step);
          assert.equal(outcome.result, c.result, c.step);
          assert.deepEqual(outcome.key, key('VirtualService', 'r'), c.step);
          const after = await store.revision();
          assert.equal(after, c.bumps ? before + 1 : before, c.step);
          assert.equal(outcome.resource.metadata.resourceVersion, String(after), c.step);
          assert.deepEqual(await store.get(outcome.key), outcome.resource, c.step);
        }
      }));

    test('keeps creationTimestamp across updates and takes time from the clock', () =>
      withStore(async (store, clock) => {
        const [created] = await store.apply([svc('details')], 'alice');
        assert.ok(created);
        assert.equal(Date.parse(created.resource.metadata.creationTimestamp) <= clock.now, true);
        const [updated] = await store.apply([{ ...svc('details'), spec: { ports: [] } }], 'alice');
        assert.equal(updated?.resource.metadata.creationTimestamp, created.resource.metadata.creationTimestamp);
      }));

    test('revisions increase strictly across every kind of change, and resourceVersion follows them', () =>
      withStore(async (store) => {
        const events: StoreEvent[] = [];
        store.watch((e) => events.push(e));
        await store.apply([svc('a'), svc('b'), vs('v', ['h'])], 'alice');
        await store.setStatus(key('Service', 'a'), { ready: true }, 'runtime');
        await store.apply([{ ...svc('b'), spec: { ports: [] } }], 'alice');
        await store.delete([key('Service', 'a')], 'alice');
        const revisions = events.map((e) => e.revision);
        assert.deepEqual(revisions, [1, 2, 3, 4, 5, 6]);
        assert.equal(await store.revision(), 6);
        for (const e of events) {
          const rv = Number(e.resource.metadata.resourceVersion);
          // A delete event carries the object as it was, so its version is that of its last put.
          if (e.type === 'put') assert.equal(rv, e.revision);
          else assert.ok(rv < e.revision);
        }
        assert.deepEqual(events.map((e) => e.type), ['put', 'put', 'put', 'put', 'put', 'delete']);
      }));

    test('a key given twice in one apply is refused and nothing is stored', () =>
      withStore(async (store) => {
        await store.apply([svc('seed')], 'alice');
        const before = await snapshot(store);
        await assert.rejects(store.apply([svc('x'), vs('v', ['h']), svc('x')], 'alice'), (err) => isWeftError(err, 'BAD_REQUEST'));
        assert.deepEqual(await snapshot(store), before);
      }));

    test('content that is not JSON in the last item leaves nothing from the earlier ones', () =>
      withStore(async (store) => {
        const before = await snapshot(store);
        const bad = { ...svc('bad'), spec: { n: 1n } };
        await assert.rejects(store.apply([svc('ok1'), svc('ok2'), bad], 'alice'));
        assert.deepEqual(await snapshot(store), before);
      }));

    test('a failure at any point inside the apply transaction leaves no resource, audit record or event', async () => {
      const seed = [svc('a'), vs('v', ['h'])];
      const batch = [{ ...svc('a'), spec: { ports: [] } }, svc('new'), vs('v', ['changed'])];
      let readings = 0;
      await withStore(async (store, clock) => {
        await store.apply(seed, 'alice');
        const start = clock.calls;
        await store.apply(batch, 'alice');
        readings = clock.calls - start;
      });
      assert.ok(readings >= 1, 'the store reads the clock while it applies');
      for (let n = 1; n <= readings; n++) {
        await withStore(async (store, clock) => {
          await store.apply(seed, 'alice');
          const before = await snapshot(store);
          const events: StoreEvent[] = [];
          store.watch((e) => events.push(e));
          clock.failOnNext(n);
          await assert.rejects(store.apply(batch, 'alice'), Error, `failure at clock reading ${n}`);
          assert.deepEqual(await snapshot(store), before, `failure at clock reading ${n}`);
          assert.deepEqual(events, [], `failure at clock reading ${n}`);
        });
      }
    });

    test('delete of a missing key is NOT_FOUND and deletes nothing', () =>
      withStore(async (store) => {
        await store.apply([svc('a'), svc('b')], 'alice');
        const before = await snapshot(store);
        await assert.rejects(store.delete([key('Service', 'a'), key('Service', 'ghost')], 'alice'), (err) =>
          isWeftError(err, 'NOT_FOUND'),
        );
        assert.deepEqual(await snapshot(store), before);
      }));

    test('delete removes every key, returns the objects and audits each with no content hash', () =>
      withStore(async (store) => {
        const applied = await store.apply([svc('a'), svc('b'), svc('c')], 'alice');
        const deleted = await store.delete([key('Service', 'a'), key('Service', 'c')], 'bob');
        assert.deepEqual(deleted, [applied[0]?.resource, applied[2]?.resource]);
        assert.deepEqual((await store.list()).map((r) => r.metadata.name), ['b']);
        const audit = (await store.audit()).filter((a) => a.verb === 'delete');
        assert.deepEqual(
          audit.map((a) => [a.revision, a.actor, a.key.name, a.contentSha256]),
          [
            [4, 'bob', 'a', null],
            [5, 'bob', 'c', null],
          ],
        );
      }));

    test('setStatus is a change: new revision, watch event, audit record; apply keeps the status', () =>
      withStore(async (store) => {
        await store.apply([svc('a')], 'alice');
        const events: StoreEvent[] = [];
        store.watch((e) => events.push(e));
        const updated = await store.setStatus(key('Service', 'a'), { phase: 'Running', podIP: '10.0.0.2' }, 'runtime');
        assert.deepEqual(updated.status, { phase: 'Running', podIP: '10.0.0.2' });
        assert.equal(updated.metadata.resourceVersion, '2');
        assert.deepEqual(events.map((e) => [e.revision, e.type, e.resource.status]), [[2, 'put', updated.status]]);
        const last = (await store.audit()).at(-1);
        assert.deepEqual([last?.verb, last?.actor, last?.revision], ['status', 'runtime', 2]);
        const [reapplied] = await store.apply([{ ...svc('a'), spec: { ports: [] } }], 'alice');
        assert.deepEqual(reapplied?.resource.status, updated.status);
        await assert.rejects(store.setStatus(key('Service', 'ghost'), {}, 'runtime'), (err) => isWeftError(err, 'NOT_FOUND'));
      }));

    test('watch delivers committed changes in revision order and stops when asked', () =>
      withStore(async (store) => {
        const seen: string[] = [];
        const stop = store.watch((e) => seen.push(`${e.revision}:${e.type}:${e.resource.metadata.name}`));
        const second: number[] = [];
        const stopSecond = store.watch((e) => second.push(e.revision));
        await store.apply([svc('a'), svc('b')], 'alice');
        await store.apply([svc('a')], 'alice');
        await store.delete([key('Service', 'b')], 'alice');
        stop();
        await store.apply([svc('c')], 'alice');
        assert.deepEqual(seen, ['1:put:a', '2:put:b', '3:delete:b']);
        assert.deepEqual(second, [1, 2, 3, 4]);
        stopSecond();
      }));

    test('every change has exactly one audit record, with actor, verb, key and a hash of the new content', () =>
      withStore(async (store) => {
        const events: StoreEvent[] = [];
        store.watch((e) => events.push(e));
        await store.apply([svc('a'), vs('v', ['h'])], 'alice');
        await store.apply([svc('a'), vs('v', ['h2'])], 'bob');
        await store.setStatus(key('Service', 'a'), { ok: true }, 'runtime');
        await store.delete([key('VirtualService', 'v')], 'carol');
        const audit = await store.audit();
        assert.deepEqual(
          audit.map((a) => [a.revision, a.actor, a.verb, `${a.key.kind}/${a.key.namespace}/${a.key.name}`]),
          [
            [1, 'alice', 'create', 'Service/default/a'],
            [2, 'alice', 'create', 'VirtualService/default/v'],
            [3, 'bob', 'update', 'VirtualService/default/v'],
            [4, 'runtime', 'status', 'Service/default/a'],
            [5, 'carol', 'delete', 'VirtualService/default/v'],
          ],
        );
        for (const [i, a] of audit.entries()) {
          const e = events[i];
          assert.ok(e);
          assert.equal(a.contentSha256, e.type === 'delete' ? null : sha256(e.resource));
          assert.ok(!Number.isNaN(Date.parse(a.time)));
        }
        assert.deepEqual((await store.audit({ since: 2, limit: 2 })).map((a) => a.revision), [3, 4]);
      }));

    test('list filters by kind and namespace, in a stable order', () =>
      withStore(async (store) => {
        await store.apply([svc('b', 'prod'), svc('a'), vs('v', ['h']), svc('c', 'prod')], 'alice');
        const names = async (f?: { kind?: string; namespace?: string }) =>
          (await store.list(f)).map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`);
        assert.deepEqual(await names({ kind: 'Service' }), ['Service/default/a', 'Service/prod/b', 'Service/prod/c']);
        assert.deepEqual(await names({ namespace: 'prod' }), ['Service/prod/b', 'Service/prod/c']);
        assert.deepEqual(await names({ kind: 'VirtualService', namespace: 'prod' }), []);
        assert.equal((await names()).length, 4);
      }));

    runHistoryConformance((body) => withStore((store, clock) => body(store, clock)));

    runIdentityRecordsConformance(
      (body) =>
        withStore(async (store, clock, backend) => {
          const others: ControlStore[] = [];
          try {
            await body(store as ControlStore, async () => {
              const other = await backend.open({ clock: clock.read });
              others.push(other);
              return other;
            });
          } finally {
            for (const other of others) await other.close();
          }
        }),
      () => Date.UTC(2026, 0, 1),
    );

    describe('shared by several handles at once', { skip: probeShared === false ? 'this backend serves one process' : false }, () => {
      runSharedStoreConformance(async (body) => {
        const backend = await makeBackend();
        try {
          if (backend.shared === undefined) throw new TypeError(`${name} declared no shared backend`);
          await body(backend.shared);
        } finally {
          await backend.cleanup();
        }
      });
    });

    test('reopening keeps the data, the audit trail and the revision', () =>
      withStore(async (store, clock, backend) => {
        await store.apply([svc('a'), svc('b')], 'alice');
        await store.delete([key('Service', 'b')], 'alice');
        const before = await snapshot(store);
        await store.close();
        const reopened = await backend.open({ clock: clock.read });
        try {
          assert.deepEqual(await snapshot(reopened), before);
          const [outcome] = await reopened.apply([svc('c')], 'alice');
          assert.equal(outcome?.resource.metadata.resourceVersion, '4');
        } finally {
          await reopened.close();
        }
      }));
  });
}
