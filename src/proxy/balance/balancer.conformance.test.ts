/**
 * One conformance suite run against every load balancer (as hono runs one suite against every router): what any
 * balancer must do, and what a policy promises on top (consistent hashing: the same key to the same host, order
 * independence, ~1/N of keys moved when a host is added).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoadBalancerPolicy } from '../../proxyconfig/types.js';
import type { PickContext } from './balancer.js';
import { createBalancer } from './create-balancer.js';
import { HostSet } from './host-set.js';
import { hash32 } from './hash.js';
import { seededRandom as seeded } from './fake-clock.fixture.js';

interface TestHost {
  address: string;
  activeRequests: number;
  ejected: boolean;
}
const hostsOf = (n: number, from = 1): TestHost[] => Array.from({ length: n }, (_, i) => ({ address: `198.18.0.${from + i}`, activeRequests: 0, ejected: false }));

interface Case {
  policy: LoadBalancerPolicy;
  /** The balancer maps a key to a host by the key alone. */
  consistent: boolean;
}

const HASH_KEY = { header: 'x-user' } as const;
const CASES: Case[] = [
  { policy: { policy: 'ROUND_ROBIN' }, consistent: false },
  { policy: { policy: 'LEAST_REQUEST' }, consistent: false },
  { policy: { policy: 'RANDOM' }, consistent: false },
  { policy: { policy: 'RING_HASH', hashKey: HASH_KEY, minimumRingSize: 1024 }, consistent: true },
  { policy: { policy: 'MAGLEV', hashKey: HASH_KEY, tableSize: 65537 }, consistent: true },
];

const PICKS = 20_000;

for (const c of CASES) {
  describe(`load balancer conformance: ${c.policy.policy}`, () => {
    const ctxWith = (random: () => number, key?: number): PickContext => ({ random, hashKey: c.consistent ? (key ?? hash32(String(random()))) : undefined });

    test('an empty set answers none', () => {
      assert.equal(createBalancer(c.policy).pick([], ctxWith(seeded(1))), undefined);
    });

    test('a single host is always the answer', () => {
      const [only] = hostsOf(1);
      const b = createBalancer(c.policy);
      const random = seeded(2);
      for (let i = 0; i < 100; i++) assert.equal(b.pick([only as TestHost], ctxWith(random)), only);
    });

    test(`every healthy host is picked, within 15% of an even share over ${PICKS} picks`, () => {
      const hosts = hostsOf(5);
      const b = createBalancer(c.policy);
      const random = seeded(3);
      const counts = new Map<string, number>();
      for (let i = 0; i < PICKS; i++) {
        const h = b.pick(hosts, ctxWith(random));
        assert.ok(h);
        counts.set(h.address, (counts.get(h.address) ?? 0) + 1);
      }
      const even = PICKS / hosts.length;
      for (const h of hosts) {
        const n = counts.get(h.address) ?? 0;
        assert.ok(Math.abs(n - even) <= even * 0.15, `${h.address} got ${n} of ${PICKS}, expected about ${even}`);
      }
    });

    test('an ejected host is never picked; the others still are', () => {
      const hosts = hostsOf(4);
      (hosts[1] as TestHost).ejected = true;
      const set = new HostSet(hosts, 0);
      set.healthChanged();
      const b = createBalancer(c.policy);
      const random = seeded(4);
      const seen = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const h = b.pick(set.candidates(), ctxWith(random));
        assert.ok(h);
        assert.notEqual(h.address, hosts[1]?.address);
        seen.add(h.address);
      }
      assert.deepEqual([...seen].sort(), [hosts[0], hosts[2], hosts[3]].map((h) => h?.address).sort());
    });

    if (c.consistent) {
      test('the same key maps to the same host, whatever order the hosts are listed in', () => {
        const hosts = hostsOf(7);
        const shuffled = [hosts[3], hosts[6], hosts[0], hosts[5], hosts[1], hosts[4], hosts[2]] as TestHost[];
        const a = createBalancer(c.policy);
        const b = createBalancer(c.policy);
        const random = seeded(5);
        for (let i = 0; i < 1000; i++) {
          const key = hash32(`user-${i}`);
          const first = a.pick(hosts, ctxWith(random, key));
          assert.equal(a.pick(hosts, ctxWith(random, key)), first);
          assert.equal(b.pick(shuffled, ctxWith(random, key))?.address, first?.address);
        }
      });

      test('adding one host to ten moves about 1/11 of the keys, all of them to the new host', () => {
        const before = hostsOf(10);
        const after = [...before, ...hostsOf(1, 100)];
        const b = createBalancer(c.policy);
        const random = seeded(6);
        const keys = Array.from({ length: 10_000 }, (_, i) => hash32(`session-${i}`));
        const was = keys.map((k) => b.pick(before, ctxWith(random, k))?.address);
        const now = keys.map((k) => b.pick(after, ctxWith(random, k))?.address);
        const moved = keys.filter((_, i) => was[i] !== now[i]).length;
        const toNew = keys.filter((_, i) => was[i] !== now[i] && now[i] === after[10]?.address).length;
        assert.ok(moved >= keys.length / 11 / 2 && moved <= (keys.length / 11) * 1.6, `moved ${moved} of ${keys.length}`);
        // Ring hash moves keys only to the new host; Maglev allows a little extra disruption, as its paper says.
        assert.ok(toNew >= moved * 0.9, `${toNew} of ${moved} moved keys went to the new host`);
      });
    } else {
      test('no key needed: picks spread over hosts without one', () => {
        const hosts = hostsOf(3);
        const b = createBalancer(c.policy);
        const random = seeded(7);
        const seen = new Set<string | undefined>();
        for (let i = 0; i < 100; i++) seen.add(b.pick(hosts, { random, hashKey: undefined })?.address);
        assert.equal(seen.size, 3);
      });
    }
  });
}

describe('policy-specific behaviour', () => {
  test('ROUND_ROBIN visits hosts in order from a random start', () => {
    const hosts = hostsOf(3);
    const b = createBalancer({ policy: 'ROUND_ROBIN' });
    const picks = Array.from({ length: 6 }, () => b.pick(hosts, { random: () => 0.5, hashKey: undefined })?.address);
    assert.deepEqual(picks, ['198.18.0.2', '198.18.0.3', '198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.1']);
  });

  test('LEAST_REQUEST takes the less busy of two sampled hosts (power of two choices)', () => {
    const hosts = hostsOf(4);
    (hosts[0] as TestHost).activeRequests = 5;
    (hosts[3] as TestHost).activeRequests = 1;
    const b = createBalancer({ policy: 'LEAST_REQUEST' });
    const draws = [0.1, 0.9]; // samples hosts[0] then hosts[3]
    let i = 0;
    assert.equal(b.pick(hosts, { random: () => draws[i++ % 2] as number, hashKey: undefined }), hosts[3]);
    // A tie keeps the first sampled.
    (hosts[3] as TestHost).activeRequests = 5;
    i = 0;
    assert.equal(b.pick(hosts, { random: () => draws[i++ % 2] as number, hashKey: undefined }), hosts[0]);
  });

  test('LEAST_REQUEST steers away from a busy host', () => {
    const hosts = hostsOf(3);
    (hosts[0] as TestHost).activeRequests = 100;
    const b = createBalancer({ policy: 'LEAST_REQUEST' });
    const random = seeded(8);
    let busy = 0;
    for (let i = 0; i < 9000; i++) if (b.pick(hosts, { random, hashKey: undefined }) === hosts[0]) busy++;
    // Chosen only when both samples land on it: (1/3)^2 of the time.
    assert.ok(busy > 700 && busy < 1300, `busy host picked ${busy} times`);
  });

  test('PASSTHROUGH answers the dialled address if it is a host, else none', () => {
    const hosts = hostsOf(3);
    const b = createBalancer({ policy: 'PASSTHROUGH' });
    assert.equal(b.pick(hosts, { random: () => 0, hashKey: undefined, originalAddress: '198.18.0.2' }), hosts[1]);
    assert.equal(b.pick(hosts, { random: () => 0, hashKey: undefined, originalAddress: '198.18.9.9' }), undefined);
    assert.equal(b.pick(hosts, { random: () => 0, hashKey: undefined }), undefined);
  });

  test('a consistent-hash request without a key lands on a random host', () => {
    const hosts = hostsOf(4);
    const b = createBalancer({ policy: 'RING_HASH', hashKey: HASH_KEY, minimumRingSize: 1024 });
    const random = seeded(9);
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 200; i++) seen.add(b.pick(hosts, { random, hashKey: undefined })?.address);
    assert.equal(seen.size, 4);
  });
});

describe('HostSet: panic mode (minHealthPercent)', () => {
  test('below minHealthPercent healthy, every host is a candidate again', () => {
    const hosts = hostsOf(4);
    const set = new HostSet(hosts, 50);
    (hosts[0] as TestHost).ejected = true;
    set.healthChanged();
    assert.deepEqual(set.candidates().map((h) => h.address), ['198.18.0.2', '198.18.0.3', '198.18.0.4']);
    assert.equal(set.panic, false);
    (hosts[1] as TestHost).ejected = true;
    (hosts[2] as TestHost).ejected = true;
    set.healthChanged();
    assert.equal(set.candidates(), hosts);
    assert.equal(set.panic, true);
  });

  test('minHealthPercent 0 (Istio default): all ejected means no candidate', () => {
    const hosts = hostsOf(2);
    const set = new HostSet(hosts, 0);
    for (const h of hosts) h.ejected = true;
    set.healthChanged();
    assert.deepEqual(set.candidates(), []);
  });

  test('the candidate list is the same array until health changes (balancers key their tables on it)', () => {
    const set = new HostSet(hostsOf(3), 0);
    assert.equal(set.candidates(), set.candidates());
  });
});
