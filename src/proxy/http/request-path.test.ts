import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from '../../http/normalize-path.js';
import { normalizeRequestPath } from './request-path.js';

/*
 * Rows from RFC 3986 §5.2.4 (remove_dot_segments) and §5.4 examples, and Istio's BASE normalisation as its
 * security best practices describe it (Envoy normalize_path: dot segments resolved, `..` never climbs above the
 * root, backslashes become slashes, escapes of unreserved characters such as %2e decoded, %2F left encoded).
 */
const rows: Array<[url: string, path: string | undefined, rawQuery?: string]> = [
  ['/', '/'],
  ['/productpage', '/productpage'],
  ['/a/b/c/./../../g', '/a/g'],
  ['/a/b/../c', '/a/c'],
  ['/a/./b', '/a/b'],
  ['/a/b/.', '/a/b/'],
  ['/a/b/..', '/a/'],
  ['/..', '/'],
  ['/../../etc/passwd', '/etc/passwd'],
  ['/a/../../b', '/b'],
  ['/a/..b/c', '/a/..b/c'],
  ['/a/.b', '/a/.b'],
  ['/a\\..\\admin', '/admin'],
  ['/a\\b', '/a/b'],
  ['/public/%2e%2e/admin', '/admin'],
  ['/public/%2E%2e/admin', '/admin'],
  ['/public/.%2e/admin', '/admin'],
  ['/a/%7Euser', '/a/~user'],
  ['/a%2Fb/../c', '/c'],
  ['/a//b', '/a//b'],
  ['/a/b?x=/../y', '/a/b', '?x=/../y'],
  ['/a/../b?q=1&q=2', '/b', '?q=1&q=2'],
  ['/a?', '/a', '?'],
  ['/a/%zz', undefined],
  ['/a/%00', undefined],
  ['relative/path', undefined],
  ['http://host/a', undefined],
  ['', undefined],
];

describe('normalizeRequestPath', () => {
  for (const [url, path, rawQuery = ''] of rows) {
    test(JSON.stringify(url), () => {
      const got = normalizeRequestPath(url);
      if (path === undefined) {
        assert.equal(got, undefined);
        return;
      }
      assert.ok(got);
      assert.equal(got.path, path);
      assert.equal(got.rawQuery, rawQuery);
    });
  }

  test('query parameters are parsed once, the raw query kept byte for byte', () => {
    const got = normalizeRequestPath('/search?q=a%20b&tag=x&tag=y&empty=');
    assert.equal(got?.rawQuery, '?q=a%20b&tag=x&tag=y&empty=');
    assert.equal(got?.query?.get('q'), 'a b');
    assert.deepEqual(got?.query?.getAll('tag'), ['x', 'y']);
    assert.equal(got?.query?.get('empty'), '');
    assert.equal(normalizeRequestPath('/search')?.query, undefined);
  });

  test('routing sees the path authorization sees (BASE)', () => {
    for (const [url, path] of rows) {
      if (path === undefined || !url.startsWith('/')) continue;
      const q = url.indexOf('?');
      const authz = normalizePath(q < 0 ? url : url.slice(0, q), 'BASE');
      assert.deepEqual(authz, { path }, url);
    }
  });
});
