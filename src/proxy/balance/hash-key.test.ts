/** The consistent-hash key extractor: header, cookie (and generated cookie with TTL), source IP, query parameter. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieValue, hashKeyOf, queryValue } from './hash-key.js';
import type { HashRequest } from './hash-key.js';
import { hash32 } from './hash.js';

const request = (headers: Record<string, string>, query = '', sourceAddress = '198.18.0.7'): HashRequest => ({
  header: (n) => headers[n],
  sourceAddress,
  localAddress: '198.18.0.1:15001',
  query,
});

describe('hash key extraction', () => {
  test('header: its value, or no key when absent', () => {
    assert.deepEqual(hashKeyOf({ header: 'x-user' }, request({ 'x-user': 'jason' })), { key: hash32('jason'), setCookie: undefined });
    assert.deepEqual(hashKeyOf({ header: 'x-user' }, request({})), { key: undefined, setCookie: undefined });
  });
  test('source IP', () => {
    assert.equal(hashKeyOf({ sourceIp: true }, request({}, '', '198.18.0.9')).key, hash32('198.18.0.9'));
  });
  test('query parameter: first value, decoded; absent is no key; present without value is ""', () => {
    assert.equal(hashKeyOf({ queryParameter: 'user' }, request({}, 'a=1&user=j%20s&user=x')).key, hash32('j s'));
    assert.equal(hashKeyOf({ queryParameter: 'user' }, request({}, 'a=1')).key, undefined);
    assert.equal(queryValue('flag&x=1', 'flag'), '');
  });
  test('cookie present: its value', () => {
    assert.equal(hashKeyOf({ cookie: { name: 'user', path: null, ttlMs: 0 } }, request({ cookie: 'a=1; user=jason; b=2' })).key, hash32('jason'));
    assert.equal(cookieValue('a=1;user=x', 'user'), 'x');
    assert.equal(cookieValue('username=x', 'user'), undefined);
  });
  test('cookie absent without TTL: no key, nothing set', () => {
    assert.deepEqual(hashKeyOf({ cookie: { name: 'user', path: null, ttlMs: null } }, request({})), { key: undefined, setCookie: undefined });
  });
  test('cookie absent with a TTL: generated from the connection, hashed by it, and set on the response', () => {
    const a = hashKeyOf({ cookie: { name: 'user', path: '/', ttlMs: 60_000 } }, request({}));
    const b = hashKeyOf({ cookie: { name: 'user', path: '/', ttlMs: 60_000 } }, request({}));
    const value = a.setCookie?.split(';')[0]?.split('=')[1] ?? '';
    assert.match(value, /^[0-9a-f]{8}$/);
    assert.equal(a.setCookie, `user=${value}; Path=/; Max-Age=60; HttpOnly`);
    assert.equal(a.key, hash32(value));
    assert.deepEqual(b, a);
    // TTL 0s: a session cookie (no Max-Age).
    assert.equal(hashKeyOf({ cookie: { name: 'user', path: null, ttlMs: 0 } }, request({})).setCookie, `user=${value}; HttpOnly`);
  });
});
