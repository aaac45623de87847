/**
 * The verbs that act on a running mesh refuse a bad flag value before doing anything: one line on stderr that names
 * the flag, exit status 1, nothing on stdout. `weft --version` prints the version of package.json. (`weft up`:
 * cli-flags-up.test.ts; `weft control`: cli-flags-control.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runWeft } from './support/mesh-process.js';
import { NAMESPACE, assertEachRefused, badFlagFiles, invalid } from './support/bad-flags.js';
import type { BadFlagCase } from './support/bad-flags.js';

const { dir, stateDir, missing, file } = badFlagFiles();

const CASES: BadFlagCase[] = [
  [['apply', '-f', missing], invalid('-f, --filename <path>', missing, 'No such file or directory.')],
  [['get', 'workloads', '-n', 'Default'], invalid('-n, --namespace <namespace>', 'Default', NAMESPACE)],
  [['get', 'workloads', '-o', 'xml'], 'error: unable to match a printer suitable for the output format "xml", allowed formats are: json,wide,yaml\n'],
  [['delete', '-f', missing], invalid('-f, --filename <path>', missing, 'No such file or directory.')],
  [['delete', 'workload', 'x', '-n', 'a.b'], invalid('-n, --namespace <namespace>', 'a.b', NAMESPACE)],
  [['exec', '-n', '-x', 'sleep', '--', 'true'], invalid('-n, --namespace <ns>', '-x', NAMESPACE)],
  [['status', '-o', 'yaml'], invalid('-o, --output <format>', 'yaml', 'Allowed choices are json.')],
  [['authz', 'check', '--request', missing], invalid('--request <file>', missing, 'No such file.')],
  [['authz', 'check', '--request', file, '-o', 'yaml'], invalid('-o, --output <format>', 'yaml', 'Allowed choices are text, json.')],
  [['authz', 'list', 'web', '-f', missing], invalid('-f, --filename <path>', missing, 'No such file or directory.')],
  [['audit', 'log', '-o', 'yaml'], invalid('-o, --output <format>', 'yaml', 'Allowed choices are json.')],
  [['audit', 'verify', '--file', missing], invalid('--file <file>', missing, 'No such file.')],
  [['audit', 'verify', '--public-key', dir], invalid('--public-key <file>', dir, 'It is not a file.')],
  [['history', 'vs', 'x', '-n', 'Bad'], invalid('-n, --namespace <namespace>', 'Bad', NAMESPACE)],
  [['diff', 'vs', 'x', '1', '2', '-o', 'yaml'], invalid('-o, --output <format>', 'yaml', 'Allowed choices are json.')],
  [['rollback', 'vs', 'x'], "error: required option '--to <revision>' not specified\n"],
  [['frobnicate'], "error: unknown command 'frobnicate'\n"],
];

test('a bad flag value: one line naming the flag, exit 1, nothing done', () => assertEachRefused(stateDir, CASES));

test('weft --version and -V print the version of package.json', async () => {
  const { version } = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) assert.deepEqual(await runWeft([flag]), { code: 0, stdout: `${version}\n`, stderr: '' });
});
