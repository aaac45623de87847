/**
 * JWKS fetching across replicas, on a shared in-memory record set standing in for etcd's keys and watch (the
 * real etcd path runs in test/mesh-replicas-jwks.test.ts): only the leader fetches, every replica serves what it
 * stored, a follower's refetch request reaches the leader, the lease passing moves the fetching, and a failed write
 * of the leader is retried.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Clock } from '../../clock.js';
import type { SharedJwksEvents, SharedJwksRecords } from '../store/etcd-jwks.js';
import { ReplicatedJwks } from './replicated-jwks.js';

const quiet = { info: () => undefined, warn: () => undefined };
const URI = 'https://idp.example/jwks.json';

/** Timers run when advance() passes their due time, never on their own. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1_000_000;
  let timers: { due: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.push({ due: now + ms, fn });
      return setTimeout(() => undefined, 0);
    },
    advance: (ms) => {
      now += ms;
      const due = timers.filter((t) => t.due <= now);
      timers = timers.filter((t) => t.due > now);
      for (const t of due) t.fn();
    },
  };
}

/** Keys and a watch every subscriber hears, delivered on the next tick as etcd's would be. */
function sharedRecords(): SharedJwksRecords & { failNextPut(): void } {
  const docs = new Map<string, string>();
  let failPut = false;
  const watchers = new Set<SharedJwksEvents>();
  const tell = (f: (e: SharedJwksEvents) => void): void => void setImmediate(() => watchers.forEach(f));
  return {
    documents: async () => new Map(docs),
    failNextPut: () => void (failPut = true),
    put: async (uri, doc) => {
      if (failPut) {
        failPut = false;
        throw new Error('etcd unavailable');
      }
      docs.set(uri, doc);
      tell((e) => e.onDocument(uri, doc));
    },
    remove: async (uri) => {
      docs.delete(uri);
      tell((e) => e.onDocument(uri, undefined));
    },
    requestRefresh: async (uri) => tell((e) => e.onRefreshRequest(uri)),
    watch: async (events) => {
      watchers.add(events);
      return async () => void watchers.delete(events);
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

test('one fetcher at a time: the leader fetches and stores, followers serve, a follower request reaches the leader, the lease moves it', async () => {
  const records = sharedRecords();
  const clock = fakeClock();
  let version = 1;
  const fetchedBy: string[] = [];
  let leader = 'r0';
  const replicas = ['r0', 'r1', 'r2'].map((name) => {
    let changes = 0;
    const jwks = new ReplicatedJwks({
      records,
      fetch: async () => {
        fetchedBy.push(name);
        return JSON.stringify({ keys: [{ kid: `k${version}` }] });
      },
      onChange: () => void changes++,
      leading: () => leader === name,
      clock,
      log: quiet,
    });
    return { name, jwks, changes: () => changes };
  });
  for (const r of replicas) await r.jwks.start();
  for (const r of replicas) r.jwks.track(new Set([URI]));
  await settle();
  assert.deepEqual(fetchedBy, ['r0']);
  for (const r of replicas) {
    assert.equal(r.jwks.documents().get(URI), '{"keys":[{"kid":"k1"}]}', r.name);
    assert.ok(r.changes() >= 1, `${r.name} recompiled`);
  }

  // A proxy of r2 met an unknown key: r2 asks, r0 fetches, everyone serves the new document.
  version = 2;
  clock.advance(5_000);
  replicas[2]!.jwks.refresh([URI]);
  replicas[2]!.jwks.refresh([URI]); // a second request at once is not forwarded again
  await settle();
  assert.deepEqual(fetchedBy, ['r0', 'r0']);
  for (const r of replicas) assert.equal(r.jwks.documents().get(URI), '{"keys":[{"kid":"k2"}]}', r.name);

  // r0 loses the lease and r1 takes it: r1 fetches at once, r0 never again.
  version = 3;
  leader = 'r1';
  replicas[0]!.jwks.leadershipChanged(false);
  replicas[1]!.jwks.leadershipChanged(true);
  await settle();
  assert.deepEqual(fetchedBy, ['r0', 'r0', 'r1']);
  clock.advance(5_000);
  replicas[0]!.jwks.refresh([URI]);
  await settle();
  assert.deepEqual(fetchedBy, ['r0', 'r0', 'r1', 'r1']);
  for (const r of replicas) assert.equal(r.jwks.documents().get(URI), '{"keys":[{"kid":"k3"}]}', r.name);

  // The leader's write fails once (etcd away): it writes again rather than leave followers on the old keys.
  version = 4;
  records.failNextPut();
  clock.advance(5_000);
  replicas[2]!.jwks.refresh([URI]);
  await settle();
  assert.equal(replicas[2]!.jwks.documents().get(URI), '{"keys":[{"kid":"k3"}]}', 'not stored yet');
  clock.advance(1_000);
  await settle();
  for (const r of replicas) assert.equal(r.jwks.documents().get(URI), '{"keys":[{"kid":"k4"}]}', r.name);

  // A URI no longer compiled is dropped from what is served, and the leader removes it from the store.
  for (const r of replicas) r.jwks.track(new Set());
  await settle();
  assert.equal((await records.documents()).size, 0);
  for (const r of replicas) await r.jwks.stop();
});
