/** replica-order: each proxy's own order over the replicas, spread evenly, stable, and kept when one is added. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicaKey, replicaOrder } from './replica-order.js';

const urls = ['https://10.0.0.1:15012', 'https://10.0.0.2:15012', 'https://10.0.0.3:15012'];
const keys = Array.from({ length: 3000 }, (_, i) => replicaKey(`ns-${i % 7}`, `sa-${i}`));

test('an order is every replica once, the same for a key every time, and one alone is kept', () => {
  for (const key of keys.slice(0, 50)) {
    const order = replicaOrder(urls, key);
    assert.deepEqual([...order].sort(), [...urls].sort());
    assert.deepEqual(replicaOrder(urls, key), order);
  }
  assert.deepEqual(replicaOrder(['https://a:1'], 'default/sleep'), ['https://a:1']);
  assert.deepEqual(replicaOrder([], 'default/sleep'), []);
});

test('the pods of one service account share a replica; service accounts spread evenly over the replicas', () => {
  const first = new Map<string, number>();
  for (const key of keys) {
    const u = replicaOrder(urls, key)[0] as string;
    first.set(u, (first.get(u) ?? 0) + 1);
  }
  // 3,000 keys over 3 replicas: 1,000 each, and a binomial spread of about 26 either way.
  for (const u of urls) assert.ok(Math.abs((first.get(u) ?? 0) - 1000) < 120, `${u}: ${first.get(u)} of 3000`);
  // Each failover target too: where a proxy goes when its own replica is down is spread as evenly.
  const second = new Map<string, number>();
  for (const key of keys) {
    const u = replicaOrder(urls, key)[1] as string;
    second.set(u, (second.get(u) ?? 0) + 1);
  }
  for (const u of urls) assert.ok(Math.abs((second.get(u) ?? 0) - 1000) < 120, `${u} second: ${second.get(u)} of 3000`);
});

test('places are hashed, not addresses: the same places give the same order whatever the addresses', () => {
  const other = ['https://127.0.0.1:40001', 'https://127.0.0.1:40002', 'https://127.0.0.1:40003'];
  for (const key of keys.slice(0, 100)) {
    assert.deepEqual(replicaOrder(urls, key).map((u) => urls.indexOf(u)), replicaOrder(other, key).map((u) => other.indexOf(u)));
  }
});

test('a replica added at the end takes proxies only from the others, about a quarter, and moves no one between them', () => {
  const four = [...urls, 'https://10.0.0.4:15012'];
  let moved = 0;
  for (const key of keys) {
    const before = replicaOrder(urls, key)[0];
    const after = replicaOrder(four, key)[0];
    if (after !== before) {
      assert.equal(after, four[3], `${key} moved from ${before} to ${after}`);
      moved++;
    }
  }
  assert.ok(Math.abs(moved - 750) < 100, `${moved} of 3000 moved`);
});
