import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Resource } from '../../config/resource.js';
import { isWeftError } from '../../errors.js';
import { SecretSealer, isSealed } from './secret-sealing.js';
import { REDACTED, secretForDisplay, withoutPrivateKeys } from './redact-secret.js';

const secret = (data: Record<string, string>, immutable?: boolean): Resource => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'cred', namespace: 'weft-system', labels: {}, annotations: {} },
  spec: { type: 'kubernetes.io/tls', data, ...(immutable === undefined ? {} : { immutable }) },
});
const material = Buffer.from('-----BEGIN PRIVATE KEY-----\nsecret-bytes\n').toString('base64');

test('a sealed Secret holds no plaintext and opens to what was applied', () => {
  const sealer = new SecretSealer(randomBytes(32));
  const applied = secret({ 'tls.key': material, 'tls.crt': 'Y2VydA==' });
  const sealed = sealer.seal(applied);
  const json = JSON.stringify(sealed);
  assert.ok(isSealed(sealed.spec));
  assert.ok(!json.includes(material) && !json.includes('secret-bytes'));
  assert.deepEqual(sealer.unseal(sealed).spec, applied.spec);
});

test('the same data keeps its ciphertext (unchanged apply); changed data gets a new one and a new digest', () => {
  const sealer = new SecretSealer(randomBytes(32));
  const first = sealer.seal(secret({ 'tls.key': material }));
  const again = sealer.seal(secret({ 'tls.key': material }), first);
  assert.deepEqual(again.spec, first.spec);
  const changed = sealer.seal(secret({ 'tls.key': 'b3RoZXI=' }), first);
  assert.notEqual((changed.spec as { sealed: { digest: string } }).sealed.digest, (first.spec as { sealed: { digest: string } }).sealed.digest);
});

test('another key cannot open it, and an immutable Secret cannot change', () => {
  const sealed = new SecretSealer(randomBytes(32)).seal(secret({ 'tls.key': material }, true));
  assert.throws(() => new SecretSealer(randomBytes(32)).unseal(sealed), (e) => isWeftError(e, 'STORE'));
  const sealer = new SecretSealer(randomBytes(32));
  const first = sealer.seal(secret({ 'tls.key': material }, true));
  assert.throws(() => sealer.seal(secret({ 'tls.key': 'b3RoZXI=' }, true), first), (e) => isWeftError(e, 'CONFIG_INVALID') && /immutable/.test(e.message));
});

test('shown as Kubernetes writes a Secret, every value redacted; private keys redacted from a shown ProxyConfig', () => {
  const sealed = new SecretSealer(randomBytes(32)).seal(secret({ 'tls.key': material, 'tls.crt': 'Y2VydA==' }));
  const shown = secretForDisplay(sealed as unknown as Record<string, unknown>);
  assert.deepEqual(shown['data'], { 'tls.crt': REDACTED, 'tls.key': REDACTED });
  assert.equal(shown['type'], 'kubernetes.io/tls');
  assert.equal(shown['spec'], undefined);
  const cfg = { gateway: { servers: [{ chains: [{ tls: { certificates: [{ chain: { secret: 'a/b', pem: 'CERT' }, privateKey: { secret: 'a/b', pem: 'KEY' } }] } }] }] } };
  assert.equal(JSON.stringify(withoutPrivateKeys(cfg)).includes('KEY'), false);
  assert.equal(JSON.stringify(withoutPrivateKeys(cfg)).includes('CERT'), true);
});
