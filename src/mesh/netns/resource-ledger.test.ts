import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LEDGER_FILE, ResourceLedger } from './resource-ledger.js';

function stateDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'weft-ledger-'));
}

test('records reach the file at once, in order, and survive a new reader', () => {
  const dir = stateDir();
  const ledger = new ResourceLedger(dir);
  ledger.record({ kind: 'link', name: 'weft0-abc' });
  ledger.record({ kind: 'netns', name: 'weft-abc-default-a' });
  ledger.record({ kind: 'link', name: 'weft0-abc' });
  const reread = new ResourceLedger(dir);
  assert.deepEqual(reread.resources, [
    { kind: 'link', name: 'weft0-abc' },
    { kind: 'netns', name: 'weft-abc-default-a' },
  ]);
  assert.equal((fs.statSync(path.join(dir, LEDGER_FILE)).mode & 0o777).toString(8), '600');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a value to restore is kept with its entry', () => {
  const dir = stateDir();
  new ResourceLedger(dir).record({ kind: 'ip-forward', name: 'net.ipv4.ip_forward', restore: '0' });
  assert.deepEqual(new ResourceLedger(dir).resources, [{ kind: 'ip-forward', name: 'net.ipv4.ip_forward', restore: '0' }]);
  fs.writeFileSync(path.join(dir, LEDGER_FILE), JSON.stringify({ version: 1, resources: [{ kind: 'ip-forward', name: 'net.ipv4.ip_forward', restore: 0 }] }));
  assert.deepEqual(new ResourceLedger(dir).resources, [], 'a restore value that is not a string is not trusted');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('forgetting the last object removes the file', () => {
  const dir = stateDir();
  const ledger = new ResourceLedger(dir);
  ledger.record({ kind: 'netns', name: 'weft-abc-x' });
  ledger.forget({ kind: 'netns', name: 'weft-abc-x' });
  assert.equal(fs.existsSync(path.join(dir, LEDGER_FILE)), false);
  assert.deepEqual(new ResourceLedger(dir).resources, []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a damaged ledger yields only its well-formed entries', () => {
  const dir = stateDir();
  const file = path.join(dir, LEDGER_FILE);
  fs.writeFileSync(file, '{not json');
  assert.deepEqual(new ResourceLedger(dir).resources, []);
  fs.writeFileSync(file, JSON.stringify({ version: 1, resources: [{ kind: 'rule', name: 'x' }, { kind: 'link' }, { kind: 'link', name: 'weft0-a' }, null] }));
  assert.deepEqual(new ResourceLedger(dir).resources, [{ kind: 'link', name: 'weft0-a' }]);
  fs.rmSync(dir, { recursive: true, force: true });
});
