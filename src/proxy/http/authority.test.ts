import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAuthority, requestTarget } from './authority.js';

// RFC 9110 §7.2 / RFC 3986 §3.2.2: host is a reg-name or an IP literal in brackets, port is digits; DNS names
// compare case-insensitively and a trailing dot names the same host.
const authorityRows: Array<[input: string, want: { host: string; port: number | undefined } | undefined]> = [
  ['reviews', { host: 'reviews', port: undefined }],
  ['reviews:9080', { host: 'reviews', port: 9080 }],
  ['Reviews.Default.SVC.cluster.local:9080', { host: 'reviews.default.svc.cluster.local', port: 9080 }],
  ['bookinfo.com.', { host: 'bookinfo.com', port: undefined }],
  ['bookinfo.com.:80', { host: 'bookinfo.com', port: 80 }],
  ['10.0.0.1:8080', { host: '10.0.0.1', port: 8080 }],
  ['[::1]', { host: '::1', port: undefined }],
  ['[::1]:15001', { host: '::1', port: 15001 }],
  ['[2001:DB8::1]:443', { host: '2001:db8::1', port: 443 }],
  ['host:1', { host: 'host', port: 1 }],
  ['host:65535', { host: 'host', port: 65535 }],
  ['host:0', undefined],
  ['host:65536', undefined],
  ['host:123456', undefined],
  ['host:', undefined],
  ['host:http', undefined],
  ['host:-1', undefined],
  ['host:+80', undefined],
  ['host: 80', undefined],
  ['', undefined],
  [':80', undefined],
  ['[::1', undefined],
  ['[::1]x', undefined],
  ['[::1]:', undefined],
  ['[]:80', undefined],
  ['user@host', undefined],
  ['host/path', undefined],
  ['host?q', undefined],
  ['host#f', undefined],
  ['ho st', undefined],
  ['::1', undefined],
  ['fe80::1:80', undefined],
  ['[bookinfo.com]:80', undefined],
  // Found by authority.fuzz.test.ts: nothing but dots was read as an empty host or as ".", and a stray bracket as a name.
  ['.', undefined],
  ['.:80', undefined],
  ['..', undefined],
  ['bookinfo.com..', undefined],
  [']', undefined],
  ['a]b:80', undefined],
  ['a[b', undefined],
  ['[::ffff:10.0.0.1]:80', { host: '::ffff:10.0.0.1', port: 80 }],
];

describe('parseAuthority', () => {
  for (const [input, want] of authorityRows) {
    test(JSON.stringify(input), () => assert.deepEqual(parseAuthority(input), want));
  }
});

// RFC 9112 §3.2: origin-form needs Host; absolute-form (a proxy request) carries the authority itself.
const targetRows: Array<[url: string, host: string | undefined, want: { authority: string; path: string } | undefined]> = [
  ['/productpage?u=1', 'bookinfo.com', { authority: 'bookinfo.com', path: '/productpage?u=1' }],
  ['/', 'reviews:9080', { authority: 'reviews:9080', path: '/' }],
  ['/productpage', undefined, undefined],
  ['/productpage', '', undefined],
  ['http://reviews:9080/reviews/1', undefined, { authority: 'reviews:9080', path: '/reviews/1' }],
  ['http://reviews:9080/reviews/1', 'ignored', { authority: 'reviews:9080', path: '/reviews/1' }],
  ['HTTP://Reviews/x', undefined, { authority: 'Reviews', path: '/x' }],
  ['https://api.example.com', undefined, { authority: 'api.example.com', path: '/' }],
  ['http://reviews?x=1', undefined, { authority: 'reviews', path: '/?x=1' }],
  ['http://reviews#frag', undefined, { authority: 'reviews', path: '/#frag' }],
  ['http://[::1]:8080/a', undefined, { authority: '[::1]:8080', path: '/a' }],
  ['http:///a', undefined, undefined],
  ['ftp://host/a', 'host', undefined],
  ['*', 'host', undefined],
  ['host:443', 'host', undefined],
  ['', 'host', undefined],
];

describe('requestTarget', () => {
  for (const [url, host, want] of targetRows) {
    test(`${JSON.stringify(url)} Host=${String(host)}`, () => assert.deepEqual(requestTarget(url, host), want));
  }
});
