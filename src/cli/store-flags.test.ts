import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { isWeftError } from '../errors.js';
import { etcdEndpoints, etcdPrefix, storeChoiceOf, storeKind } from './store-flags.js';

const refused = (fn: () => unknown, reason: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && reason.test(e.message), String(reason));

test('store kinds', () => {
  assert.equal(storeKind('sqlite'), 'sqlite');
  assert.equal(storeKind('etcd'), 'etcd');
  for (const v of ['', 'ETCD', 'postgres']) refused(() => storeKind(v), /Expected sqlite or etcd/);
});

test('etcd endpoints: http(s)://host:port, comma-separated', () => {
  assert.deepEqual(etcdEndpoints('http://10.0.0.1:2379, http://10.0.0.2:2379,'), ['http://10.0.0.1:2379', 'http://10.0.0.2:2379']);
  assert.deepEqual(etcdEndpoints('https://etcd-0.etcd.svc:2379'), ['https://etcd-0.etcd.svc:2379']);
  for (const v of ['10.0.0.1:2379', 'http://10.0.0.1', 'ftp://10.0.0.1:2379', 'http://10.0.0.1:2379/v3', 'not a url']) refused(() => etcdEndpoints(v), /expected http:\/\/host:port|is not a URL/);
  refused(() => etcdEndpoints(' , '), /at least one/);
});

test('etcd prefixes end in / and hold no odd bytes', () => {
  for (const v of ['weft/', 'meshes/prod/', 'a.b-c_d/']) assert.equal(etcdPrefix(v), v);
  for (const v of ['weft', '/weft/', 'a//b/', 'we ft/', 'weft/\n', '']) refused(() => etcdPrefix(v), /Expected a key prefix/);
});

test('the store flags go together', () => {
  assert.deepEqual(storeChoiceOf({ store: 'sqlite', etcdPrefix: 'weft/' }), { kind: 'sqlite' });
  assert.deepEqual(storeChoiceOf({ store: 'etcd', etcdEndpoints: ['http://a:2379'], etcdPrefix: 'p/', sealingKey: 'k' }), {
    kind: 'etcd',
    endpoints: ['http://a:2379'],
    prefix: 'p/',
    sealingKeyFile: 'k',
  });
  assert.deepEqual(storeChoiceOf({ store: 'etcd', etcdEndpoints: ['https://a:2379'], etcdPrefix: 'p/', sealingKey: 'k', etcdCacert: 'ca.pem', etcdCert: 'c.pem', etcdKey: 'k.pem' }), {
    kind: 'etcd',
    endpoints: ['https://a:2379'],
    prefix: 'p/',
    sealingKeyFile: 'k',
    tls: { caFile: 'ca.pem', certFile: 'c.pem', keyFile: 'k.pem' },
  });
  const cases: [Parameters<typeof storeChoiceOf>[0], RegExp][] = [
    [{ store: 'sqlite', etcdPrefix: 'weft/', etcdEndpoints: ['http://a:2379'] }, /go with --store etcd/],
    [{ store: 'sqlite', etcdPrefix: 'weft/', sealingKey: 'k' }, /go with --store etcd/],
    [{ store: 'etcd', etcdPrefix: 'weft/', sealingKey: 'k' }, /needs --etcd-endpoints/],
    [{ store: 'etcd', etcdPrefix: 'weft/', etcdEndpoints: ['http://a:2379'] }, /needs --sealing-key/],
    [{ store: 'sqlite', etcdPrefix: 'weft/', etcdCacert: 'ca.pem' }, /go with --store etcd/],
    [{ store: 'etcd', etcdPrefix: 'weft/', etcdEndpoints: ['http://a:2379'], sealingKey: 'k', etcdCacert: 'ca.pem' }, /need https/],
    [{ store: 'etcd', etcdPrefix: 'weft/', etcdEndpoints: ['https://a:2379'], sealingKey: 'k', etcdCert: 'c.pem', etcdKey: 'k.pem' }, /need --etcd-cacert/],
    [{ store: 'etcd', etcdPrefix: 'weft/', etcdEndpoints: ['https://a:2379'], sealingKey: 'k', etcdCacert: 'ca.pem', etcdCert: 'c.pem' }, /go together/],
    [{ store: 'etcd', etcdPrefix: 'weft/', etcdEndpoints: ['https://a:2379', 'http://b:2379'], sealingKey: 'k' }, /mix http/],
  ];
  for (const [flags, reason] of cases) assert.throws(() => storeChoiceOf(flags), (e: unknown) => isWeftError(e, 'BAD_REQUEST') && reason.test(e.message));
});
