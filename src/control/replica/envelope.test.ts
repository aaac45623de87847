import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isWeftError } from '../../errors.js';
import { sealingKey } from './envelope.js';
import type { Envelope } from './envelope.js';

const key = sealingKey(randomBytes(32));
const secret = Buffer.from('-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n');

test('a sealed secret opens under its key and name, and its envelope holds no byte of it in clear', () => {
  const envelope = key.seal('ca', secret);
  assert.deepEqual(key.open('ca', envelope), secret);
  const stored = JSON.stringify(envelope);
  assert.ok(!stored.includes('PRIVATE KEY') && !stored.includes(secret.toString('base64').slice(0, 24)));
  assert.notDeepEqual(key.seal('ca', secret).iv, envelope.iv, 'a fresh IV for every seal');
});

const flip = (b64: string): string => {
  const bytes = Buffer.from(b64, 'base64');
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  return bytes.toString('base64');
};

const refusals: { what: string; open: () => Buffer; says: RegExp }[] = [
  { what: 'another replica key', open: () => sealingKey(randomBytes(32)).open('ca', key.seal('ca', secret)), says: /sealed under key [0-9a-f]{16}, but this replica was given key/ },
  { what: 'moved to another name', open: () => key.open('audit-key', key.seal('ca', secret)), says: /does not open/ },
  { what: 'ciphertext altered', open: () => key.open('ca', { ...key.seal('ca', secret), ciphertext: flip(key.seal('ca', secret).ciphertext) }), says: /does not open/ },
  { what: 'tag altered', open: () => { const e = key.seal('ca', secret); return key.open('ca', { ...e, tag: flip(e.tag) }); }, says: /does not open/ },
  { what: 'unknown format', open: () => key.open('ca', { ...key.seal('ca', secret), v: 2 } as unknown as Envelope), says: /unknown format/ },
];

for (const r of refusals) {
  test(`a sealed secret does not open: ${r.what}`, () => {
    assert.throws(r.open, (err) => isWeftError(err, 'STORE') && r.says.test(err.message));
  });
}

test('a sealing key must be 32 bytes', () => {
  assert.throws(() => sealingKey(randomBytes(16)), (err) => isWeftError(err, 'BAD_REQUEST'));
});
