import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MAX_FILE_BYTES, loadResources, parseResources } from './load.js';
import { isWeftError } from '../errors.js';
import type { WeftErrorCode } from '../errors.js';
import type { ConfigIssue } from './issues.js';

const svc = (name: string, ns = 'default'): string =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  ports:\n  - port: 9080\n    name: http\n`;

/** Asserts a load fails with `code` and returns its issues. */
async function failure(run: () => Promise<unknown> | unknown, code: WeftErrorCode): Promise<ConfigIssue[]> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  assert.ok(isWeftError(caught, code), `expected ${code}, got ${String(caught)}`);
  return (caught.detail?.['issues'] ?? []) as ConfigIssue[];
}

describe('parseResources', () => {
  test('multi-document YAML, empty documents skipped, sources point at each document', () => {
    const text = `---\n# only a comment\n---\n${svc('a')}---\n---\n${svc('b')}...\n`;
    const loaded = parseResources(text, 'm.yaml');
    assert.deepEqual(loaded.map((l) => l.resource.metadata.name), ['a', 'b']);
    assert.deepEqual(loaded.map((l) => l.source), [
      { file: 'm.yaml', line: 4, column: 1 },
      { file: 'm.yaml', line: 15, column: 1 },
    ]);
  });

  test('an empty file loads nothing', () => {
    assert.deepEqual(parseResources('', 'e.yaml'), []);
    assert.deepEqual(parseResources('# nothing\n', 'e.yaml'), []);
  });

  test('JSON documents load too', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'j' }, spec: { ports: [{ port: 80 }] } }, null, 2);
    assert.equal(parseResources(json, 'j.json')[0]?.resource.metadata.name, 'j');
  });

  test('all-or-nothing: one bad document among good ones returns nothing, message lists each problem', async () => {
    const text = `${svc('a')}---\n${svc('b').replace('9080', '0')}---\n${svc('c')}`;
    const issues = await failure(() => parseResources(text, 'x.yaml'), 'CONFIG_INVALID');
    assert.deepEqual(issues, [{ file: 'x.yaml', line: 18, column: 11, field: 'spec.ports[0].port', message: 'port must be 1-65535' }]);
  });

  test('the error message is one line per problem: file:line:column: field: reason', () => {
    const text = `${svc('a').replace('9080', '0')}---\n${svc('b').replace('name: http', 'nme: http')}`;
    assert.throws(() => parseResources(text, 'x.yaml'), (err) => {
      assert.ok(isWeftError(err, 'CONFIG_INVALID'));
      assert.equal(err.message, '2 problems in configuration:\nx.yaml:8:11: spec.ports[0].port: port must be 1-65535\nx.yaml:19:5: spec.ports[0].nme: unknown field');
      return true;
    });
  });

  test('duplicate kind/namespace/name names both places', async () => {
    const issues = await failure(() => parseResources(`${svc('a')}---\n${svc('b')}---\n${svc('a')}`, 'd.yaml'), 'CONFIG_INVALID');
    assert.deepEqual(issues, [{ file: 'd.yaml', line: 24, column: 9, field: 'metadata.name', message: 'duplicate Service default/a, first defined at d.yaml:1:1' }]);
    // The same name in another namespace is a different resource.
    assert.equal(parseResources(`${svc('a')}---\n${svc('a', 'other')}`, 'd.yaml').length, 2);
  });

  test('YAML syntax error is CONFIG_PARSE at its line', async () => {
    const text = `${svc('a')}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: [unclosed\n`;
    const issues = await failure(() => parseResources(text, 's.yaml'), 'CONFIG_PARSE');
    assert.ok(issues.length > 0);
    assert.ok(issues.every((i) => i.file === 's.yaml' && i.line >= 14 && i.message.startsWith('YAML syntax error')), JSON.stringify(issues));
  });

  test('duplicate keys are a syntax error', async () => {
    const issues = await failure(() => parseResources('apiVersion: v1\nkind: Service\nkind: Service\n', 'k.yaml'), 'CONFIG_PARSE');
    assert.equal(issues[0]?.line, 3);
  });

  test('an alias bomb is rejected quickly', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    const issues = await failure(() => parseResources(levels.join('\n'), 'bomb.yaml'), 'CONFIG_PARSE');
    assert.ok(performance.now() - started < 1000);
    assert.match(issues[0]?.message ?? '', /alias/i);
  });

  test('deep nesting is refused at the line and column where it passes the limit', async () => {
    const deep = `apiVersion: v1\nkind: Service\nmetadata: { name: a }\nspec: ${'['.repeat(200)}${']'.repeat(200)}\n`;
    const issues = await failure(() => parseResources(deep, 'n.yaml'), 'CONFIG_PARSE');
    // The document's map is level 1, so the 64th `[` after "spec: " is the first level over the limit.
    assert.deepEqual(issues, [{ file: 'n.yaml', line: 4, column: 7 + 63, field: '', message: 'nesting deeper than 64 levels (the limit)' }]);
  });

  test('nesting deep enough to exhaust the parser\'s stack is refused by the limit, not by a stack overflow', async () => {
    const limit = { field: '', message: 'nesting deeper than 64 levels (the limit)' };
    for (const [text, line, column] of [
      [`a: ${'['.repeat(50_000)}`, 1, 4 + 63],
      [`a: ${'{b: '.repeat(50_000)}`, 1, 4 + 63 * 4],
      [`${'- '.repeat(50_000)}1\n`, 1, 1 + 64 * 2],
      // Block maps, one level a line: line 65 opens the 65th map.
      [`${Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')} 1\n`, 65, 65],
    ] as const) {
      const started = performance.now();
      const issues = await failure(() => parseResources(text, 'n.yaml'), 'CONFIG_PARSE');
      assert.ok(performance.now() - started < 1000);
      assert.deepEqual(issues, [{ file: 'n.yaml', line, column, ...limit }]);
    }
  });

  test('64 levels are read', () => {
    const spec = `${'['.repeat(62)}${']'.repeat(62)}`;
    const text = `apiVersion: v1\nkind: Service\nmetadata: { name: a }\nspec: { ports: [ { port: 80, name: http } ], x: ${spec} }\n`;
    // Loads far enough to be validated: the nesting itself is accepted, the unknown field is what fails.
    assert.throws(() => parseResources(text, 'ok.yaml'), (err) => isWeftError(err, 'CONFIG_INVALID'));
  });

  test('a chain of aliases that nests past the limit once expanded is refused', async () => {
    const levels = (n: number): [string, string] => ['['.repeat(n), ']'.repeat(n)];
    const [open, close] = levels(40);
    const text = `a: &a ${open}1${close}\nb: &b ${open}*a${close}\n`;
    const issues = await failure(() => parseResources(text, 'chain.yaml'), 'CONFIG_PARSE');
    assert.deepEqual(issues, [{
      file: 'chain.yaml', line: 1, column: 1, field: '', message: 'nesting deeper than 64 levels (the limit) once aliases are expanded',
    }]);
  });

  test('a wide alias expansion under the yaml package\'s alias count is refused by the value budget', async () => {
    // 99 references to a 20 000-value list: about two million values from a 40 KB text.
    const text = `a: &a [${Array(20_000).fill('1').join(',')}]\nb: [${Array(99).fill('*a').join(',')}]\n`;
    const issues = await failure(() => parseResources(text, 'wide.yaml'), 'CONFIG_PARSE');
    assert.deepEqual(issues, [{
      file: 'wide.yaml', line: 1, column: 1, field: '', message: 'more than 1000000 values in the file (the limit) once aliases are expanded',
    }]);
  });

  test('a text over the size limit is refused', async () => {
    await failure(() => parseResources(`# ${'x'.repeat(MAX_FILE_BYTES)}\n`, 'big.yaml'), 'CONFIG_READ');
  });
});

describe('loadResources', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-config-'));
    await mkdir(join(dir, 'tree', 'b-sub'), { recursive: true });
    await writeFile(join(dir, 'tree', 'c.yml'), svc('c'));
    await writeFile(join(dir, 'tree', 'a.yaml'), `${svc('a1')}---\n${svc('a2')}`);
    await writeFile(join(dir, 'tree', 'b-sub', 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'b' }, spec: {} }));
    await writeFile(join(dir, 'tree', 'notes.txt'), 'not config');
    await writeFile(join(dir, 'one.yaml'), svc('one'));
    await mkdir(join(dir, 'bad'));
    await writeFile(join(dir, 'bad', '1.yaml'), svc('fine'));
    await writeFile(join(dir, 'bad', '2.yaml'), `${svc('x')}  extra: 1\n`);
    await writeFile(join(dir, 'bad', '3.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\n');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('one file', async () => {
    const loaded = await loadResources([join(dir, 'one.yaml')]);
    assert.deepEqual(loaded.map((l) => [l.resource.metadata.name, l.source.file]), [['one', join(dir, 'one.yaml')]]);
  });

  test('a directory: its own *.yaml/*.yml/*.json only, in sorted order, not subdirectories (as kubectl -f)', async () => {
    const loaded = await loadResources([join(dir, 'tree')]);
    assert.deepEqual(loaded.map((l) => l.resource.metadata.name), ['a1', 'a2', 'c']);
    const sub = await loadResources([join(dir, 'tree', 'b-sub')]);
    assert.deepEqual(sub.map((l) => l.resource.metadata.name), ['b']);
  });

  test('several paths and stdin', async () => {
    const loaded = await loadResources([join(dir, 'one.yaml'), '-'], { stdin: Readable.from([svc('piped')]) });
    assert.deepEqual(loaded.map((l) => [l.resource.metadata.name, l.source.file]), [['one', join(dir, 'one.yaml')], ['piped', '<stdin>']]);
  });

  test('problems from every file are collected, nothing is returned', async () => {
    const issues = await failure(() => loadResources([join(dir, 'bad')]), 'CONFIG_INVALID');
    assert.deepEqual(issues.map((i) => `${i.file.slice(dir.length + 1)}:${i.line}:${i.column}: ${i.field}: ${i.message.split(';')[0]}`), [
      'bad/2.yaml:10:3: spec.extra: unknown field',
      'bad/3.yaml:2:7: kind: unknown kind v1 Pod',
    ]);
  });

  test('only unknown kinds is CONFIG_UNKNOWN_KIND', async () => {
    await failure(() => loadResources([join(dir, 'bad', '3.yaml')]), 'CONFIG_UNKNOWN_KIND');
  });

  test('duplicates across files name both files', async () => {
    const issues = await failure(() => loadResources([join(dir, 'one.yaml'), join(dir, 'one.yaml')]), 'CONFIG_INVALID');
    assert.equal(issues[0]?.message, `duplicate Service default/one, first defined at ${join(dir, 'one.yaml')}:1:1`);
  });

  test('an unreadable path is CONFIG_READ, and still reported with the other problems', async () => {
    const issues = await failure(() => loadResources([join(dir, 'missing.yaml'), join(dir, 'bad')]), 'CONFIG_READ');
    assert.equal(issues[0]?.message, 'cannot read: no such file or directory');
    assert.equal(issues.length, 3);
  });

  test('"-" without a stdin is CONFIG_READ', async () => {
    await failure(() => loadResources(['-']), 'CONFIG_READ');
  });
});
