import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { GENESIS_HASH, entryHash, sealEntry } from './audit-chain.js';
import { PreparedContent } from './audit-prepared.js';
import type { CanonicalCache } from './audit-prepared.js';
import type { AuditContent } from './audit-chain.js';
import { canonicalJson } from './resource-content.js';

const bootstrap = { ...meshConfigWithDefaults({ trustDomain: 'example.org' }), rootNamespace: 'weft-system' };

// Every kind of entry the chain holds, with the shapes that make canonical forms differ: nested objects, keys that
// sort around seq/time/prev, undefined members, arrays holding undefined, non-ASCII text.
const CASES: { name: string; content: AuditContent }[] = [
  { name: 'an object with integer-like keys', content: { type: 'push', proxy: 'p', outcome: 'sent', configVersion: 'v', configSha256: null, inputs: { revision: 1, node: { role: 'sidecar', namespace: 'n', name: 'p', serviceAccount: 's', labels: { '10': 'a', '9': 'b', x: 'c' } }, jwks: {} } } },
  {
    name: 'a config sent, with its compile inputs',
    content: { type: 'push', proxy: 'sidecar/default/a', outcome: 'sent', configVersion: 'v1', configSha256: 'e'.repeat(64), inputs: { revision: 7, node: { role: 'sidecar', namespace: 'default', name: 'a', serviceAccount: 'a', labels: { b: '2', a: '1' } }, jwks: { 'https://issuer/jwks': '{"keys":[]}' }, bootstrap } },
  },
  {
    name: 'a config sent, naming its shared inputs by their settings entry',
    content: { type: 'push', proxy: 'sidecar/default/a', outcome: 'sent', configVersion: 'v1', configSha256: 'e'.repeat(64), inputs: { revision: 7, node: { role: 'sidecar', namespace: 'default', name: 'a', serviceAccount: 'a' }, settings: 'd'.repeat(64) } },
  },
  { name: 'a settings entry', content: { type: 'settings', sha256: 'd'.repeat(64), bootstrap, jwks: { 'https://issuer/jwks': '{"keys":[]}' } } },
  { name: 'an ACK', content: { type: 'push', proxy: 'sidecar/default/a', outcome: 'ack', configVersion: 'v1', configSha256: null } },
  { name: 'a NACK with a reason', content: { type: 'push', proxy: 'sidecar/default/ü', outcome: 'nack', configVersion: 'v1', configSha256: null, reason: 'bad \u2028 line "quoted"' } },
  { name: 'a refusal with undefined members', content: { type: 'refusal', actor: null, method: 'POST', path: '/api/v1/apply', code: 'FORBIDDEN', status: 403, reason: 'viewer', source: undefined, verb: 'apply', key: { kind: 'Service', namespace: 'x', name: 'y' } } },
  {
    name: 'a change with a diff holding arrays',
    content: { type: 'change', actor: { name: 'admin' }, verb: 'update', key: { kind: 'Service', namespace: 'x', name: 'y' }, revision: 3, oldSha256: null, newSha256: 'a'.repeat(64), diff: [{ op: 'add', path: '', value: { spec: { ports: [1, undefined, { z: 1, a: 2 }] } } }] },
  },
  { name: 'content naming a member sealing sets', content: { type: 'push', proxy: 'p', outcome: 'ack', configVersion: 'v', configSha256: null, seq: 99, hash: 'x' } as unknown as AuditContent },
  { name: 'content with no member sorting after time', content: { actor: { name: 'a' }, proxy: 'p', reason: 'r', status: 1 } as unknown as AuditContent },
  { name: 'a signed head', content: { type: 'head', signed: { seq: 9, hash: 'b'.repeat(64), signedAt: '2026-01-01T00:00:00.000Z', keyId: '0123456789abcdef', signature: 'sig' } } },
];

for (const { name, content } of CASES) {
  test(`a prepared entry seals as sealEntry does: ${name}`, () => {
    // Prepared in a batch after another event that shares its objects, as a push's records share their settings.
    const cache: CanonicalCache = new Map();
    void new PreparedContent({ type: 'push', proxy: 'sidecar/default/b', outcome: 'sent', configVersion: 'v0', configSha256: null, inputs: { revision: 6, node: { role: 'sidecar', namespace: 'default', name: 'b', serviceAccount: 'b' }, jwks: {}, bootstrap } }, cache);
    void new PreparedContent(content, cache);
    const prepared = new PreparedContent(content, cache);
    let prev = GENESIS_HASH;
    // Sealed again at other places, as a lost etcd attempt does.
    for (const seq of [1, 2, 10, 12345]) {
      const time = new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();
      const expected = sealEntry(content, seq, time, prev);
      const { entry: sealed, stored } = prepared.sealStored(seq, time, prev);
      assert.deepEqual(sealed, expected);
      assert.equal(stored, JSON.stringify(expected), 'stored the same');
      assert.deepEqual(prepared.seal(seq, time, prev), expected);
      // SQLite stores the text the hash is over: the canonical form of the entry without its hash.
      const { hash: _hash, ...unhashed } = expected;
      const { entry: again, canonical } = prepared.sealCanonical(seq, time, prev);
      assert.deepEqual(again, expected);
      assert.equal(canonical, canonicalJson(unhashed));
      assert.equal(entryHash(sealed), sealed.hash);
      prev = sealed.hash;
    }
  });
}

test("a batch keeps the text of objects its events share, not of each event's own", () => {
  const cache: CanonicalCache = new Map();
  const record = (name: string) => ({ revision: 6, node: { role: 'sidecar' as const, namespace: 'default', name, serviceAccount: name }, jwks: {}, bootstrap });
  const a = record('a');
  const b = record('b');
  void new PreparedContent({ type: 'push', proxy: 'sidecar/default/a', outcome: 'sent', configVersion: 'v0', configSha256: null, inputs: a }, cache);
  void new PreparedContent({ type: 'push', proxy: 'sidecar/default/b', outcome: 'sent', configVersion: 'v0', configSha256: null, inputs: b }, cache);
  assert.equal(cache.get(bootstrap), canonicalJson(bootstrap), 'the settings every record holds, from the second on');
  assert.equal(cache.get(a), null, "a record's own inputs: met once, text not kept");
  assert.equal(cache.get(b.node), null);
});
