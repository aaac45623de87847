/**
 * Admission decides on the batch's own objects: its errors refuse it (unless forced), its warnings come back, and a
 * problem of an object already stored and not in the batch does not block an unrelated change.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Resource } from '../../config/resource.js';
import { isWeftError } from '../../errors.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import { ResourceMirror } from '../store/resource-mirror.js';
import { admitBatch, forcedActor } from './admission.js';

const store = openSqliteStore(':memory:');
const mirror = new ResourceMirror(store);
after(() => {
  mirror.close();
  store.close();
});

function resource(apiVersion: string, kind: string, name: string, spec: unknown): Resource {
  return { apiVersion, kind, metadata: { name, namespace: 'shop', labels: {}, annotations: {} }, spec };
}

const ghostRule = resource('networking.istio.io/v1', 'DestinationRule', 'ghost', { host: 'ghost' });
const portService = resource('v1', 'Service', 'cart', { selector: { app: 'cart' }, ports: [{ name: 'web', port: 80, protocol: 'TCP' }] });

test('an error on a batch object refuses the batch with every error listed', async () => {
  await assert.rejects(admitBatch(mirror, [ghostRule], { force: false }), (err) => {
    assert.ok(isWeftError(err, 'ADMISSION_REFUSED'));
    assert.equal(err.status, 422);
    assert.deepEqual((err.detail?.['findings'] as { code: string }[]).map((f) => f.code), ['KIA0202']);
    return true;
  });
});

test('forced, the errors come back as forced and name the actor', async () => {
  const report = await admitBatch(mirror, [ghostRule], { force: true });
  assert.deepEqual(report.forced.map((f) => f.code), ['KIA0202']);
  assert.deepEqual(forcedActor({ name: 'alice', credentialId: 'c1' }, report.forced), { name: 'alice', credentialId: 'c1', forced: ['KIA0202'] });
  assert.deepEqual(forcedActor({ name: 'alice' }, []), { name: 'alice' });
});

test('warnings are returned; a stored object with an error does not block a batch without one', async () => {
  await store.apply([ghostRule], 'alice');
  const report = await admitBatch(mirror, [portService], { force: false });
  assert.deepEqual(report.warnings.map((f) => `${f.severity} ${f.code} ${f.object?.name}`), ['info IST0118 cart']);
  assert.deepEqual(report.forced, []);
});
