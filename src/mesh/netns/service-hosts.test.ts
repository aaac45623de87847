import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateServiceVips, formatServiceVips, podHostsFile } from './service-hosts.js';

const services = [
  { namespace: 'default', name: 'sleep' },
  { namespace: 'shop', name: 'cart' },
  { namespace: 'default', name: 'httpbin' },
];

test('VIPs are given in namespace/name order from .1, whatever order the services come in', () => {
  const vips = allocateServiceVips(services, '198.19.4.0/24', 'cluster.local');
  assert.deepEqual(vips.map((v) => [v.vip, v.host]), [
    ['198.19.4.1', 'httpbin.default.svc.cluster.local'],
    ['198.19.4.2', 'sleep.default.svc.cluster.local'],
    ['198.19.4.3', 'cart.shop.svc.cluster.local'],
  ]);
  assert.deepEqual(allocateServiceVips([...services].reverse(), '198.19.4.0/24', 'cluster.local'), vips);
  assert.equal(formatServiceVips(vips.slice(0, 1)), '198.19.4.1=httpbin.default.svc.cluster.local');
});

test('more services than addresses is refused', () => {
  const many = Array.from({ length: 15 }, (_, i) => ({ namespace: 'n', name: `s${i}` }));
  assert.throws(() => allocateServiceVips(many, '10.0.0.0/28', 'cluster.local'), RangeError);
  assert.equal(allocateServiceVips(many.slice(0, 14), '10.0.0.0/28', 'cluster.local').at(-1)?.vip, '10.0.0.14');
});

test('a pod’s hosts file: every qualified name, short names only for its own namespace', () => {
  const vips = allocateServiceVips(services, '198.19.4.0/24', 'cluster.local');
  const lines = podHostsFile(vips, 'default', 'sleep', '198.18.3.11').trimEnd().split('\n');
  assert.ok(lines.includes('127.0.0.1\tlocalhost'));
  assert.ok(lines.includes('198.18.3.11\tsleep'));
  assert.ok(lines.includes('198.19.4.1\thttpbin.default.svc.cluster.local httpbin.default.svc httpbin.default httpbin'));
  assert.ok(lines.includes('198.19.4.3\tcart.shop.svc.cluster.local cart.shop.svc cart.shop'));
});
