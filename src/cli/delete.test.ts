import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isWeftError } from '../errors.js';
import { formatDeleted, keysFromArgs } from './delete.js';

test('delete prints kubectl result lines', () => {
  assert.equal(
    formatDeleted({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'default', name: 'bookinfo' }),
    'virtualservice.networking.istio.io "bookinfo" deleted',
  );
  assert.equal(formatDeleted({ apiVersion: 'v1', kind: 'Service', namespace: 'default', name: 'details' }), 'service "details" deleted');
});

test('KIND NAME... arguments become keys in the namespace', () => {
  assert.deepEqual(keysFromArgs('vs', ['a', 'b'], 'prod'), [
    { kind: 'VirtualService', namespace: 'prod', name: 'a' },
    { kind: 'VirtualService', namespace: 'prod', name: 'b' },
  ]);
  assert.throws(() => keysFromArgs('vs', [], 'default'), (err) => isWeftError(err, 'BAD_REQUEST'));
  assert.throws(() => keysFromArgs('nope', ['a'], 'default'), (err) => isWeftError(err, 'CONFIG_UNKNOWN_KIND'));
});
