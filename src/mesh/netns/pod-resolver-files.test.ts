import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podHostsFile, podResolvConf, resolvConfNameservers, upstreamNameservers } from './pod-resolver-files.js';

test('a pod’s hosts file names localhost and the pod, and no service', () => {
  const lines = podHostsFile('sleep', '198.18.3.11').trimEnd().split('\n');
  assert.deepEqual(lines, ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', '198.18.3.11\tsleep']);
});

test('a pod’s resolv.conf asks its sidecar and searches as Kubernetes does', () => {
  assert.equal(
    podResolvConf('shop', 'cluster.local'),
    'nameserver 127.0.0.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n',
  );
});

test('nameserver lines are read, comments and other keys ignored', () => {
  const text = '# generated\nsearch example.com\nnameserver 10.0.0.2\n  nameserver   1.1.1.1  \noptions edns0\nnameserver\n';
  assert.deepEqual(resolvConfNameservers(text), ['10.0.0.2', '1.1.1.1']);
});

test('upstream resolvers: IPv4 and not loopback; behind systemd-resolved its own file', () => {
  const cases: [string, Record<string, string>, string[]][] = [
    ['plain', { '/etc/resolv.conf': 'nameserver 10.255.255.53\n' }, ['10.255.255.53']],
    ['loopback and IPv6 dropped', { '/etc/resolv.conf': 'nameserver 127.0.0.1\nnameserver ::1\nnameserver fe80::1\nnameserver 8.8.8.8\n' }, ['8.8.8.8']],
    [
      'systemd-resolved stub',
      { '/etc/resolv.conf': 'nameserver 127.0.0.53\n', '/run/systemd/resolve/resolv.conf': 'nameserver 192.0.2.53\nnameserver 192.0.2.54\n' },
      ['192.0.2.53', '192.0.2.54'],
    ],
    ['stub without its file', { '/etc/resolv.conf': 'nameserver 127.0.0.53\n' }, []],
    ['no resolv.conf at all', {}, []],
  ];
  for (const [name, files, want] of cases) assert.deepEqual(upstreamNameservers((f) => files[f]), want, name);
});
