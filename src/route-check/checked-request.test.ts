/** The request route check is asked about, from command-line flags: what is accepted and what is refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkedRequest } from './checked-request.js';
import type { RequestFlags } from './checked-request.js';

const flags = (over: Partial<RequestFlags>): RequestFlags => ({ target: 'reviews:9080', method: 'GET', headers: [], query: [], ...over });

test('URLs and host[:port] with --path, headers and query parameters', () => {
  const cases: Array<[Partial<RequestFlags>, { authority: string; path: string; query: string; scheme: string }]> = [
    [{}, { authority: 'reviews:9080', path: '/', query: '', scheme: 'http' }],
    [{ target: 'http://reviews:9080/a/b?x=1' }, { authority: 'reviews:9080', path: '/a/b', query: 'x=1', scheme: 'http' }],
    [{ target: 'http://reviews:80/' }, { authority: 'reviews:80', path: '/', query: '', scheme: 'http' }],
    [{ target: 'https://api.example.com/v1' }, { authority: 'api.example.com', path: '/v1', query: '', scheme: 'https' }],
    [{ path: '/p?y=2', query: ['z=3'] }, { authority: 'reviews:9080', path: '/p', query: 'y=2&z=3', scheme: 'http' }],
  ];
  for (const [over, want] of cases) {
    const r = checkedRequest(flags(over));
    assert.deepEqual({ authority: r.authority, path: r.path, query: r.query, scheme: r.scheme }, want, JSON.stringify(over));
  }
  const h = checkedRequest(flags({ headers: ['End-User: jason', 'x-a: 1', 'x-a: 2'] })).headers;
  assert.deepEqual(h, { 'end-user': 'jason', 'x-a': ['1', '2'], host: 'reviews:9080' });
});

test('refused with a reason: not a URL, another scheme, credentials, a bad header, method or path', () => {
  const cases: Array<[Partial<RequestFlags>, RegExp]> = [
    [{ target: 'ftp://x/' }, /only http and https/],
    [{ target: 'http://u:p@x/' }, /credentials/],
    [{ target: 'reviews:9080/path' }, /give the path with --path/],
    [{ target: 'http://x/', path: '/y' }, /--path goes with host/],
    [{ path: 'relative' }, /must start with \//],
    [{ headers: ['no colon'] }, /expected "name: value"/],
    [{ headers: ['bad name: v'] }, /expected "name: value"/],
    [{ method: 'G T' }, /not an HTTP method/],
    [{ query: ['=v'] }, /expected name=value/],
    [{ target: 'http://[::1/' }, /neither a URL nor host/],
  ];
  for (const [over, message] of cases) assert.throws(() => checkedRequest(flags(over)), message, JSON.stringify(over));
});
