import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredResource } from '../control/store/types.js';
import { diffOps, formatDiff, formatHistory } from './history.js';

const vs = (rv: string, spec: Record<string, unknown>, labels: Record<string, string> = {}): StoredResource => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'r', namespace: 'default', labels, annotations: {}, resourceVersion: rv, creationTimestamp: '2026-01-01T00:00:00.000Z' },
  spec,
});

test('diff: one line per changed path with the old and new value; resourceVersion left out', () => {
  const before = vs('3', { hosts: ['a'], http: [{ timeout: '5s', retries: { attempts: 2 } }] }, { team: 'x' });
  const after = vs('9', { hosts: ['a', 'b'], http: [{ timeout: '7s' }] }, {});
  assert.equal(
    formatDiff(before, diffOps(before, after)),
    [
      '- /metadata/labels/team: "x"',
      '~ /spec/hosts: ["a"] -> ["a","b"]',
      '- /spec/http/0/retries: {"attempts":2}',
      '~ /spec/http/0/timeout: "5s" -> "7s"',
      '',
    ].join('\n'),
  );
  assert.deepEqual(diffOps(before, vs('10', before.spec as Record<string, unknown>, { team: 'x' })), []);
});

test('diff against a revision where the object did not exist adds every field', () => {
  const after = vs('2', { hosts: ['a'] });
  assert.equal(
    formatDiff(undefined, diffOps(undefined, after)),
    [
      '+ /apiVersion: "networking.istio.io/v1"',
      '+ /kind: "VirtualService"',
      '+ /metadata: {"name":"r","namespace":"default","labels":{},"annotations":{},"resourceVersion":"2","creationTimestamp":"2026-01-01T00:00:00.000Z"}',
      '+ /spec: {"hosts":["a"]}',
      '',
    ].join('\n'),
  );
});

test('history table: revision, time, actor, credential, verb, hash', () => {
  assert.equal(
    formatHistory([
      { revision: 4, time: '2026-01-01T00:00:04.000Z', actor: { name: 'alice', credentialId: 'c0ffee' }, verb: 'create', contentSha256: 'ab' },
      { revision: 9, time: '2026-01-01T00:00:09.000Z', actor: { name: 'runtime' }, verb: 'delete', contentSha256: null },
    ]),
    [
      'REVISION   TIME                       ACTOR     CREDENTIAL   VERB     SHA256',
      '4          2026-01-01T00:00:04.000Z   alice     c0ffee       create   ab',
      '9          2026-01-01T00:00:09.000Z   runtime   -            delete   -',
      '',
    ].join('\n'),
  );
});
