/**
 * `weft up` refuses a bad flag value before starting anything: one line on stderr that names the flag, exit status
 * 1, nothing on stdout. (`weft control`: cli-flags-control.test.ts; the other verbs: cli-flags.test.ts.)
 */
import { test } from 'node:test';
import path from 'node:path';
import { CIDR, DURATION, PORT, assertEachRefused, badFlagFiles, invalid } from './support/bad-flags.js';
import type { BadFlagCase } from './support/bad-flags.js';

const { dir, stateDir, missing, file } = badFlagFiles();

const UP: BadFlagCase[] = [
  [['up', 'examples/httpbin', '--ingress-port', '99999'], invalid('--ingress-port <port>', '99999', PORT)],
  [['up', 'examples/httpbin', '--ingress-port', '0'], invalid('--ingress-port <port>', '0', PORT)],
  [['up', 'examples/httpbin', '--ingress-port', 'http'], invalid('--ingress-port <port>', 'http', PORT)],
  [['up', 'examples/httpbin', '--isolation', 'vm'], invalid('--isolation <mode>', 'vm', 'Allowed choices are none, netns.')],
  [['up', 'examples/httpbin', '--ca-cert', missing], invalid('--ca-cert <file>', missing, 'No such file.')],
  [['up', 'examples/httpbin', '--ca-key', dir], invalid('--ca-key <file>', dir, 'It is not a file.')],
  [['up', 'examples/httpbin', '--ca-cert', file], 'error: --ca-key is required with --ca-cert\n'],
  [['up', 'examples/httpbin', '--pod-range', '198.18.0.1/15'], invalid('--pod-range <cidr>', '198.18.0.1/15', CIDR)],
  [['up', 'examples/httpbin', '--history-retention', '-1h'], invalid('--history-retention <duration>', '-1h', DURATION)],
  [['up', 'examples/httpbin', '--audit-sign-interval', '0'], invalid('--audit-sign-interval <duration>', '0', DURATION)],
  [['up', path.join(dir, 'nothing.yaml')], `error: ${path.join(dir, 'nothing.yaml')}: cannot read: no such file or directory\n`],
  [['up'], "error: missing required argument 'path'\n"],
  [['up', 'examples/httpbin', '--store', 'etcd', '--etcd-cacert', file], 'error: --etcd-cacert, --etcd-cert and --etcd-key go with --etcd-endpoints\n'],
  [['up', 'examples/httpbin', '--etcd-cert', file], 'error: --etcd-cacert, --etcd-cert and --etcd-key need --store etcd\n'],
  [['up', 'examples/httpbin', '--frobnicate'], "error: unknown option '--frobnicate'\n"],
];


test('weft up: a bad flag value is one line naming the flag, exit 1, nothing started', () => assertEachRefused(stateDir, UP));
