/**
 * Every verb refuses a bad flag value before doing anything: one line on stderr that names the flag, exit status 1,
 * nothing on stdout. `weft --version` prints the version of package.json.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, runWeft } from './support/mesh-process.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-cli-flags-'));
/** Under a regular file: should a verb ever accept one of these flags, it fails there instead of starting a mesh. */
const stateDir = path.join(dir, 'not-a-directory', 'state');
fs.writeFileSync(path.join(dir, 'not-a-directory'), '');
const missing = path.join(dir, 'missing.pem');
const file = path.join(REPO_ROOT, 'package.json');

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const invalid = (flag: string, value: string, reason: string): string => `error: option '${flag}' argument '${value}' is invalid. ${reason}\n`;
const PORT = 'A port is a number from 1 to 65535.';
const NAMESPACE = 'A namespace must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit.';

const CASES: [args: string[], stderr: string][] = [
  [['up', 'examples/httpbin', '--ingress-port', '99999'], invalid('--ingress-port <port>', '99999', PORT)],
  [['up', 'examples/httpbin', '--ingress-port', '0'], invalid('--ingress-port <port>', '0', PORT)],
  [['up', 'examples/httpbin', '--ingress-port', 'http'], invalid('--ingress-port <port>', 'http', PORT)],
  [['up', 'examples/httpbin', '--isolation', 'vm'], invalid('--isolation <mode>', 'vm', 'Allowed choices are none, netns.')],
  [['up', 'examples/httpbin', '--ca-cert', missing], invalid('--ca-cert <file>', missing, 'No such file.')],
  [['up', 'examples/httpbin', '--ca-key', dir], invalid('--ca-key <file>', dir, 'It is not a file.')],
  [['up', 'examples/httpbin', '--ca-cert', file], 'error: --ca-key is required with --ca-cert\n'],
  [['up', 'examples/httpbin', '--pod-range', '198.18.0.1/15'], invalid('--pod-range <cidr>', '198.18.0.1/15', 'Expected an IPv4 CIDR with no host bits set, like 198.18.0.0/15.')],
  [['up', 'examples/httpbin', '--history-retention', '-1h'], invalid('--history-retention <duration>', '-1h', 'Expected a positive duration like 30s, 10m or 720h.')],
  [['up', 'examples/httpbin', '--audit-sign-interval', '0'], invalid('--audit-sign-interval <duration>', '0', 'Expected a positive duration like 30s, 10m or 720h.')],
  [['up', path.join(dir, 'nothing.yaml')], `error: ${path.join(dir, 'nothing.yaml')}: cannot read: no such file or directory\n`],
  [['up'], "error: missing required argument 'path'\n"],
  [['up', 'examples/httpbin', '--store', 'etcd', '--etcd-cacert', file], 'error: --etcd-cacert, --etcd-cert and --etcd-key go with --etcd-endpoints\n'],
  [['up', 'examples/httpbin', '--etcd-cert', file], 'error: --etcd-cacert, --etcd-cert and --etcd-key need --store etcd\n'],
  [['control', '--etcd-cacert', missing], invalid('--etcd-cacert <file>', missing, 'No such file.')],
  [['control', '--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379', '--sealing-key', file, '--etcd-cacert', file], 'error: --etcd-cacert/--etcd-cert/--etcd-key need https:// etcd endpoints\n'],
  [['control', '--listen', '127.0.0.1:70000'], invalid('--listen <host:port>', '127.0.0.1:70000', PORT)],
  [['control', '--listen', 'localhost:15012'], invalid('--listen <host:port>', 'localhost:15012', 'Expected an IPv4 address and a port, like 127.0.0.1:15012.')],
  [['control', '--trust-domain', 'Example.org'], invalid('--trust-domain <domain>', 'Example.org', 'trust domain must be lowercase.')],
  [['control', '--root-namespace', 'Weft_System'], invalid('--root-namespace <ns>', 'Weft_System', NAMESPACE)],
  [['control', '--service-cidr', '198.19.200.0'], invalid('--service-cidr <cidr>', '198.19.200.0', 'Expected an IPv4 CIDR with no host bits set, like 198.18.0.0/15.')],
  [['control', '--ca-chain', missing], invalid('--ca-chain <file>', missing, 'No such file.')],
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
  [['control', '--history-retention', '0s'], invalid('--history-retention <duration>', '0s', 'Expected a positive duration like 30s, 10m or 720h.')],
  [['control', '--audit-sign-interval', 'often'], invalid('--audit-sign-interval <duration>', 'often', 'Expected a positive duration like 30s, 10m or 720h.')],
  [['audit', 'log', '-o', 'yaml'], invalid('-o, --output <format>', 'yaml', 'Allowed choices are json.')],
  [['audit', 'verify', '--file', missing], invalid('--file <file>', missing, 'No such file.')],
  [['audit', 'verify', '--public-key', dir], invalid('--public-key <file>', dir, 'It is not a file.')],
  [['history', 'vs', 'x', '-n', 'Bad'], invalid('-n, --namespace <namespace>', 'Bad', NAMESPACE)],
  [['diff', 'vs', 'x', '1', '2', '-o', 'yaml'], invalid('-o, --output <format>', 'yaml', 'Allowed choices are json.')],
  [['rollback', 'vs', 'x'], "error: required option '--to <revision>' not specified\n"],
  [['up', 'examples/httpbin', '--frobnicate'], "error: unknown option '--frobnicate'\n"],
  [['frobnicate'], "error: unknown command 'frobnicate'\n"],
];

test('a bad flag value: one line naming the flag, exit 1, nothing started', async () => {
  // Four processes at a time: each case is a separate CLI start, and none of them touches anything another reads.
  const next = CASES.entries();
  const worker = async (): Promise<void> => {
    for (const [, [args, stderr]] of next) {
      const r = await runWeft(['--state-dir', stateDir, ...args]);
      assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 1, stdout: '', stderr }, args.join(' '));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
});

test('weft --version and -V print the version of package.json', async () => {
  const { version } = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) assert.deepEqual(await runWeft([flag]), { code: 0, stdout: `${version}\n`, stderr: '' });
});
