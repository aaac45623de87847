import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meshConfigWithDefaults } from '../config/kinds/mesh-config.js';
import { sealEntry, GENESIS_HASH } from '../control/store/audit-chain.js';
import type { AuditEntry, ChainReport } from '../control/store/audit-chain.js';
import type { EnforcedConfig } from '../control/enforced-config.js';
import { formatAuditLog, formatEnforced, formatReport, parseJsonLines } from './audit.js';

const T = '2026-06-01T10:00:00.000Z';

test('audit log table: one line per entry, who and what for each entry type', () => {
  const entries: AuditEntry[] = [
    sealEntry({ type: 'change', actor: { name: 'alice', credentialId: 'ab12' }, verb: 'update', key: { kind: 'VirtualService', namespace: 'shop', name: 'cart' }, revision: 7, oldSha256: 'a', newSha256: 'b', diff: [] }, 1, T, GENESIS_HASH),
    sealEntry({ type: 'refusal', actor: null, method: 'POST', path: '/api/v1/apply', code: 'UNAUTHENTICATED', status: 401, reason: 'no credential' }, 2, T, 'x'),
    sealEntry({ type: 'push', proxy: 'sidecar/shop/cart', outcome: 'nack', configVersion: 'v9', configSha256: null, reason: 'bad route' }, 3, T, 'y'),
    sealEntry({ type: 'head', signed: { seq: 3, hash: 'h', signedAt: T, keyId: 'k1', signature: 's' } }, 4, T, 'z'),
    sealEntry({ type: 'settings', sha256: '0123456789abcdef'.repeat(4), bootstrap: meshConfigWithDefaults({ trustDomain: 'example.org' }), jwks: { 'https://a/jwks': '{}' } }, 5, T, 'w'),
  ];
  assert.equal(
    formatAuditLog(entries),
    [
      'SEQ   TIME                       TYPE       WHO                 WHAT',
      `1     ${T}   change     alice (ab12)        update VirtualService shop/cart revision 7`,
      `2     ${T}   refusal    -                   POST /api/v1/apply refused 401 UNAUTHENTICATED: no credential`,
      `3     ${T}   push       sidecar/shop/cart   nack config v9 sha256 unknown: bad route`,
      `4     ${T}   head       -                   signed head of entry 3 with key k1`,
      `5     ${T}   settings   -                   compile settings 0123456789abcdef: trust domain example.org, 1 JWKS document(s)`,
      '',
    ].join('\n'),
  );
});

test('verify report: one line, the problem named with its entry and record', () => {
  const base: ChainReport = { ok: true, entries: 3, lastSeq: 3, lastHash: 'abc', signedHead: null, problem: null };
  assert.equal(formatReport(base), 'audit chain valid: 3 entries, last entry 3 (abc), no signed head found\n');
  assert.equal(
    formatReport({ ...base, signedHead: { seq: 2, hash: 'h', signedAt: T, keyId: 'k', signature: 's' } }),
    `audit chain valid: 3 entries, last entry 3 (abc), signed head covers entry 2 (signed ${T})\n`,
  );
  assert.equal(
    formatReport({ ...base, ok: false, problem: { kind: 'removed', seq: 2, position: 2, message: 'entry 2 was removed (next present: 3)' } }),
    'audit chain NOT valid: removed at entry 2 (record 2): entry 2 was removed (next present: 3)\n',
  );
});

test('JSON lines: blank lines skipped, the first line that is not an object is reported', () => {
  assert.deepEqual(parseJsonLines('{"seq":1}\n\n{"seq":2}\n'), { entries: [{ seq: 1 }, { seq: 2 }] });
  assert.deepEqual(parseJsonLines('{"seq":1}\n{"seq":2\n{"seq":3}\n'), { entries: [{ seq: 1 }], badLine: 2 });
  assert.deepEqual(parseJsonLines('[1]\n'), { entries: [], badLine: 1 });
});

test('audit enforced text: reproduced, or both hashes when they differ', () => {
  const answer = {
    proxy: 'sidecar/default/httpbin',
    ack: { seq: 9, time: T, configVersion: 'v1', configSha256: 'a'.repeat(64) },
    sent: { seq: 8, time: T, revision: 4 },
    reproducedSha256: 'a'.repeat(64),
    reproduced: true,
  } as EnforcedConfig;
  const head = `sidecar/default/httpbin ACKed config v1 at ${T} (entry 9), sent at ${T} from revision 4\n`;
  assert.equal(formatEnforced(answer), `${head}reproduced: hash matches (sha256 ${'a'.repeat(64)})\n`);
  assert.equal(
    formatEnforced({ ...answer, reproducedSha256: 'b'.repeat(64), reproduced: false }),
    `${head}NOT reproduced: hash mismatch: the chain recorded sha256 ${'a'.repeat(64)}, compiling from history gives ${'b'.repeat(64)}\n`,
  );
});
