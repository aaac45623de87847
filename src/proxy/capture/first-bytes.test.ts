import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyFirstBytes } from './first-bytes.js';
import type { FirstBytes } from './first-bytes.js';

const cases: Array<[name: string, bytes: string, want: FirstBytes | undefined]> = [
  ['a request line', 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n', { protocol: 'http' }],
  ['HTTP/1.0 with a bare LF', 'POST http://a/ HTTP/1.0\n', { protocol: 'http' }],
  ['a method alone: wait', 'GET', undefined],
  ['a request line not yet ended: wait', 'GET /very/long', undefined],
  ['Redis inline command', 'SET k v\r\n', { protocol: 'tcp' }],
  ['IRC registration', 'NICK weft\r\nUSER weft 0 * :weft\r\n', { protocol: 'tcp' }],
  ['HTTP/2 prior knowledge is not HTTP/1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', { protocol: 'tcp' }],
  ['RESP array', '*1\r\n$4\r\nPING\r\n', { protocol: 'tcp' }],
  ['lower-case word', 'get k\r\n', { protocol: 'tcp' }],
  ['leading space', ' GET / HTTP/1.1\r\n', { protocol: 'tcp' }],
  ['a request line longer than the inspector looks', `GET /${'a'.repeat(9000)}`, { protocol: 'tcp' }],
];
for (const [name, bytes, want] of cases) test(name, () => assert.deepEqual(classifyFirstBytes(Buffer.from(bytes, 'latin1')), want));
