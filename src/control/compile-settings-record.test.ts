/** compile-settings-record.ts: one settings entry per distinct value, before the sent entries that name it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import { CompileSettingsRecord } from './compile-settings-record.js';
import type { AuditEntry, SettingsEvent } from './store/audit-chain.js';
import { compileSettingsDigest } from './store/audit-chain.js';

const bootstrap = meshConfigWithDefaults(undefined);
const node = { role: 'sidecar' as const, namespace: 'default', name: 'a', serviceAccount: 'a' };

test('each distinct set of shared inputs is recorded once, however many configs name it', () => {
  const appended: SettingsEvent[] = [];
  const record = new CompileSettingsRecord(bootstrap, (e) => (appended.push(e), Promise.resolve({} as AuditEntry)), () => assert.fail('no error expected'));
  const jwks = { 'https://a.example/jwks': '{"keys":[]}' };
  const first = record.inputsOf({ revision: 3, node, jwks, serviceCidr: '10.96.0.0/12' });
  assert.deepEqual(first, { revision: 3, node, serviceCidr: '10.96.0.0/12', settings: compileSettingsDigest(bootstrap, jwks) });
  // The same object, and an equal one (the next snapshot's), name the same entry.
  assert.equal(record.inputsOf({ revision: 4, node, jwks }).settings, first.settings);
  assert.equal(record.inputsOf({ revision: 5, node, jwks: { ...jwks } }).settings, first.settings);
  const rotated = { 'https://a.example/jwks': '{"keys":[{"kid":"2"}]}' };
  const second = record.inputsOf({ revision: 6, node, jwks: rotated });
  assert.notEqual(second.settings, first.settings);
  assert.deepEqual(
    appended.map((e) => [e.sha256, e.jwks]),
    [
      [first.settings, jwks],
      [second.settings, rotated],
    ],
  );
  assert.equal(appended[0]?.bootstrap, bootstrap);
});

test('a settings entry that could not be appended is appended again with the next config', async () => {
  let fail = true;
  const appended: SettingsEvent[] = [];
  const errors: unknown[] = [];
  const record = new CompileSettingsRecord(
    bootstrap,
    (e) => {
      appended.push(e);
      return fail ? Promise.reject(new Error('store down')) : Promise.resolve({} as AuditEntry);
    },
    (err) => errors.push(err),
  );
  record.inputsOf({ revision: 1, node, jwks: {} });
  await new Promise((r) => setImmediate(r));
  fail = false;
  record.inputsOf({ revision: 2, node, jwks: {} });
  record.inputsOf({ revision: 3, node, jwks: {} });
  assert.equal(appended.length, 2);
  assert.equal(errors.length, 1);
});

test('the digest covers the bootstrap settings too', () => {
  const other = meshConfigWithDefaults({ trustDomain: 'example.org' });
  assert.notEqual(compileSettingsDigest(bootstrap, {}), compileSettingsDigest(other, {}));
  assert.match(compileSettingsDigest(bootstrap, {}), /^[0-9a-f]{64}$/);
});
