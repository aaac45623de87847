import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedAuthority, parseServiceVips } from './captured-authority.js';

const vips = parseServiceVips('198.19.4.1=httpbin.default.svc.cluster.local, bad,=x,198.19.4.2=Sleep.default.svc.cluster.local');

test('the VIP table skips malformed pairs', () => {
  assert.deepEqual([...vips], [
    ['198.19.4.1', 'httpbin.default.svc.cluster.local'],
    ['198.19.4.2', 'sleep.default.svc.cluster.local'],
  ]);
});

const cases: [string, string | undefined, { address: string; port: number }, string | undefined][] = [
  ['Host with its port is kept', 'httpbin:8000', { address: '198.19.4.1', port: 8000 }, 'httpbin:8000'],
  ['Host without a port takes the port dialled', 'httpbin', { address: '198.19.4.1', port: 8000 }, 'httpbin:8000'],
  ['Host without a port, port 80 dialled', 'reviews.default', { address: '198.19.4.9', port: 80 }, 'reviews.default:80'],
  ['a VIP as Host names its service', '198.19.4.1:8000', { address: '198.19.4.1', port: 8000 }, 'httpbin.default.svc.cluster.local:8000'],
  ['no Host: the VIP dialled names the service', undefined, { address: '198.19.4.2', port: 80 }, 'sleep.default.svc.cluster.local:80'],
  ['no Host and not a VIP: unknown', undefined, { address: '10.1.1.1', port: 80 }, undefined],
  ['an unparsable Host is left for the outbound server to refuse', 'a b', { address: '198.19.4.1', port: 80 }, 'a b'],
];
for (const [name, host, dst, want] of cases) test(name, () => assert.equal(capturedAuthority(host, dst, vips), want));
