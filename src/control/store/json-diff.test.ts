import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonDiff } from './json-diff.js';

test('jsonDiff: RFC 6902 operations from one document to another', () => {
  const cases: { name: string; before: unknown; after: unknown; ops: unknown[] }[] = [
    { name: 'equal', before: { a: [1, { b: 2 }] }, after: { a: [1, { b: 2 }] }, ops: [] },
    { name: 'key added and removed', before: { a: 1, b: 2 }, after: { b: 2, c: 3 }, ops: [{ op: 'remove', path: '/a' }, { op: 'add', path: '/c', value: 3 }] },
    { name: 'nested scalar', before: { s: { t: '5s' } }, after: { s: { t: '7s' } }, ops: [{ op: 'replace', path: '/s/t', value: '7s' }] },
    { name: 'array of one length, element by element', before: { h: [{ t: 1 }, 'x'] }, after: { h: [{ t: 2 }, 'x'] }, ops: [{ op: 'replace', path: '/h/0/t', value: 2 }] },
    { name: 'array of another length, whole', before: { h: ['a'] }, after: { h: ['a', 'b'] }, ops: [{ op: 'replace', path: '/h', value: ['a', 'b'] }] },
    { name: 'RFC 6901 escaping', before: { 'a/b': 1, 'c~d': 1 }, after: { 'a/b': 2, 'c~d': 2 }, ops: [{ op: 'replace', path: '/a~1b', value: 2 }, { op: 'replace', path: '/c~0d', value: 2 }] },
    { name: 'type changed', before: { a: { b: 1 } }, after: { a: [1] }, ops: [{ op: 'replace', path: '/a', value: [1] }] },
    { name: 'whole document', before: 1, after: 'x', ops: [{ op: 'replace', path: '', value: 'x' }] },
  ];
  for (const c of cases) assert.deepEqual(jsonDiff(c.before, c.after), c.ops, c.name);
});
