/**
 * `weft control` refuses a bad flag value before starting anything: one line on stderr that names the flag, exit
 * status 1, nothing on stdout. (`weft up`: cli-flags-up.test.ts; the other verbs: cli-flags.test.ts.)
 */
import { test } from 'node:test';
import { CIDR, DURATION, NAMESPACE, PORT, assertEachRefused, badFlagFiles, invalid } from './support/bad-flags.js';
import type { BadFlagCase } from './support/bad-flags.js';

const { stateDir, missing, file } = badFlagFiles();

const CONTROL: BadFlagCase[] = [
  [['control', '--etcd-cacert', missing], invalid('--etcd-cacert <file>', missing, 'No such file.')],
  [['control', '--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379', '--sealing-key', file, '--etcd-cacert', file], 'error: --etcd-cacert/--etcd-cert/--etcd-key need https:// etcd endpoints\n'],
  [['control', '--listen', '127.0.0.1:70000'], invalid('--listen <host:port>', '127.0.0.1:70000', PORT)],
  [['control', '--listen', 'localhost:15012'], invalid('--listen <host:port>', 'localhost:15012', 'Expected an IPv4 address and a port, like 127.0.0.1:15012.')],
  [['control', '--trust-domain', 'Example.org'], invalid('--trust-domain <domain>', 'Example.org', 'trust domain must be lowercase.')],
  [['control', '--root-namespace', 'Weft_System'], invalid('--root-namespace <ns>', 'Weft_System', NAMESPACE)],
  [['control', '--service-cidr', '198.19.200.0'], invalid('--service-cidr <cidr>', '198.19.200.0', CIDR)],
  [['control', '--ca-chain', missing], invalid('--ca-chain <file>', missing, 'No such file.')],
  [['control', '--history-retention', '0s'], invalid('--history-retention <duration>', '0s', DURATION)],
  [['control', '--audit-sign-interval', 'often'], invalid('--audit-sign-interval <duration>', 'often', DURATION)],
];

test('weft control: a bad flag value is one line naming the flag, exit 1, nothing started', () => assertEachRefused(stateDir, CONTROL));
