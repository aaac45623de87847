import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Resource } from '../../config/resource.js';
import { openSqliteStore } from './sqlite-store.js';
import { ResourceMirror } from './resource-mirror.js';
import type { ResourceStore, StoreEvent, StoreListener, StoredResource } from './types.js';

function service(name: string, port = 80): Resource {
  return { apiVersion: 'weft.dev/v1', kind: 'Service', metadata: { namespace: 'default', name, labels: {}, annotations: {} }, spec: { ports: [{ name: 'http', port, protocol: 'HTTP' }] } };
}

function names(list: readonly StoredResource[]): string[] {
  return list.map((r) => `${r.metadata.name}@${r.metadata.resourceVersion}`);
}

test('the mirror lists what the store lists, in its order, after creates, updates and deletes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-mirror-'));
  const store = openSqliteStore(path.join(dir, 'store.db'));
  try {
    await store.apply([service('b'), service('a')], 'test');
    const mirror = new ResourceMirror(store);
    assert.deepEqual(names(await mirror.list()), names(await store.list()));
    await store.apply([service('c'), service('a', 81)], 'test');
    await store.delete([{ kind: 'Service', namespace: 'default', name: 'b' }], 'test');
    await store.setStatus({ kind: 'Service', namespace: 'default', name: 'c' }, { phase: 'Ready' }, 'test');
    assert.deepEqual(names(await mirror.list()), names(await store.list()));
    assert.deepEqual((await mirror.list()).map((r) => r.status), (await store.list()).map((r) => r.status));
    assert.equal(await mirror.revision(), await store.revision());
    // Changes came from the watch: the store was read whole once.
    assert.equal(mirror.reads, 1);
    mirror.close();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the mirror’s objects are frozen copies: a compile cannot edit them, nor they the store’s events', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-mirror-'));
  const store = openSqliteStore(path.join(dir, 'store.db'));
  try {
    const mirror = new ResourceMirror(store);
    await mirror.list();
    let seen: StoreEvent | undefined;
    store.watch((e) => (seen = e));
    await store.apply([service('a')], 'test');
    const [held] = await mirror.list();
    assert.ok(held !== undefined && Object.isFrozen(held.spec));
    assert.throws(() => ((held.spec as { ports: unknown[] }).ports = []), TypeError);
    assert.ok(seen !== undefined && !Object.isFrozen(seen.resource));
    mirror.close();
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A store whose watch events the test delivers itself, to miss some on purpose. */
function scriptedStore(): { store: ResourceStore; objects: Map<string, StoredResource>; revision: { n: number }; emit: (e: StoreEvent) => void } {
  const objects = new Map<string, StoredResource>();
  const revision = { n: 0 };
  let listener: StoreListener | undefined;
  const store = {
    revision: () => Promise.resolve(revision.n),
    list: () => Promise.resolve([...objects.values()].map((r) => structuredClone(r))),
    watch: (l: StoreListener) => {
      listener = l;
      return () => (listener = undefined);
    },
  } as unknown as ResourceStore;
  return { store, objects, revision, emit: (e) => listener?.(e) };
}

function stored(name: string, rev: number): StoredResource {
  const r = service(name);
  return { ...r, metadata: { ...r.metadata, resourceVersion: String(rev), creationTimestamp: '2026-01-01T00:00:00Z' } } as StoredResource;
}

test('a change whose revision skips one makes the mirror read the store whole again', async () => {
  const s = scriptedStore();
  s.objects.set('a', stored('a', 1));
  s.revision.n = 1;
  const mirror = new ResourceMirror(s.store);
  assert.deepEqual(names(await mirror.list()), ['a@1']);
  // Revision 2 (b) is never delivered; 3 (c) is: the mirror cannot know b from events alone.
  s.objects.set('b', stored('b', 2));
  s.objects.set('c', stored('c', 3));
  s.revision.n = 3;
  s.emit({ revision: 3, type: 'put', resource: stored('c', 3) });
  assert.deepEqual(names(await mirror.list()), ['a@1', 'b@2', 'c@3']);
  assert.equal(mirror.reads, 2);
  assert.equal(await mirror.revision(), 3);
});

test('an event older than the object read is not applied over it', async () => {
  const s = scriptedStore();
  s.objects.set('a', stored('a', 2));
  s.revision.n = 2;
  const mirror = new ResourceMirror(s.store);
  await mirror.list();
  // The watch brings revision 1's put and a delete of an older version late, after a read that holds revision 2.
  s.emit({ revision: 1, type: 'put', resource: stored('a', 1) });
  s.emit({ revision: 1, type: 'delete', resource: stored('a', 1) });
  assert.deepEqual(names(await mirror.list()), ['a@2']);
  s.emit({ revision: 3, type: 'delete', resource: stored('a', 2) });
  assert.deepEqual(names(await mirror.list()), []);
  assert.equal(mirror.reads, 1);
});

test('listLatest sees a write the watch has not delivered yet, reading the store whole once', async () => {
  const s = scriptedStore();
  s.objects.set('a', stored('a', 1));
  s.revision.n = 1;
  const mirror = new ResourceMirror(s.store);
  assert.deepEqual(names(await mirror.listLatest()), ['a@1']);
  assert.equal(mirror.reads, 1);
  // Written by another replica: in the store, its event still on the way.
  s.objects.set('b', stored('b', 2));
  s.revision.n = 2;
  assert.deepEqual(names(await mirror.list()), ['a@1'], 'list alone serves what the watch delivered');
  assert.deepEqual(names(await mirror.listLatest()), ['a@1', 'b@2']);
  assert.equal(mirror.reads, 2);
  // Delivered and current: no further read.
  s.emit({ revision: 2, type: 'put', resource: stored('b', 2) });
  assert.deepEqual(names(await mirror.listLatest()), ['a@1', 'b@2']);
  assert.equal(mirror.reads, 2);
});
