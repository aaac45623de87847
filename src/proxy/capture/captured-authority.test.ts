import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturedAuthority } from './captured-authority.js';

const services = new Map([
  ['198.19.4.1', 'httpbin.default.svc.cluster.local'],
  ['198.19.4.2', 'sleep.default.svc.cluster.local'],
]);
const serviceAt = (address: string): string | undefined => services.get(address);

const cases: [string, string | undefined, { address: string; port: number }, string | undefined][] = [
  ['Host with its port is kept', 'httpbin:8000', { address: '198.19.4.1', port: 8000 }, 'httpbin:8000'],
  ['Host without a port takes the port dialled', 'httpbin', { address: '198.19.4.1', port: 8000 }, 'httpbin:8000'],
  ['Host without a port, port 80 dialled', 'reviews.default', { address: '198.19.4.9', port: 80 }, 'reviews.default:80'],
  ['Host is lower-cased, its trailing dot dropped', 'Outside.Example.', { address: '203.0.113.1', port: 8080 }, 'outside.example:8080'],
  ['a VIP as Host names its service', '198.19.4.1:8000', { address: '198.19.4.1', port: 8000 }, 'httpbin.default.svc.cluster.local:8000'],
  ['no Host: the VIP dialled names the service', undefined, { address: '198.19.4.2', port: 80 }, 'sleep.default.svc.cluster.local:80'],
  ['no Host and not a VIP: the address dialled', undefined, { address: '10.1.1.1', port: 80 }, '10.1.1.1:80'],
  ['no Host, an IPv6 address dialled', '', { address: '2001:db8::1', port: 80 }, '[2001:db8::1]:80'],
  ['an IPv6 Host keeps its brackets', '[2001:db8::1]', { address: '2001:db8::1', port: 8080 }, '[2001:db8::1]:8080'],
  ['an unparsable Host is left for the outbound server to refuse', 'a b', { address: '198.19.4.1', port: 80 }, 'a b'],
];
for (const [name, host, dst, want] of cases) test(name, () => assert.equal(capturedAuthority(host, dst, serviceAt), want));
