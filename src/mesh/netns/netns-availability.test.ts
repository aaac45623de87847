import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeftError } from '../../errors.js';
import type { NetnsProbe } from './netns-availability.js';
import { netnsAvailability } from './netns-availability.js';

const capable: NetnsProbe = {
  platform: 'linux',
  uid: 0,
  ip: '/usr/sbin/ip',
  iptables: '/usr/sbin/iptables',
  setpriv: '/usr/bin/setpriv',
  run: async () => ({ stdout: '', stderr: '' }),
  addonUnavailable: () => undefined,
};

test('netns mode needs Linux, root, ip netns and the capture addon; each lack is named', async () => {
  const cases: [string, Partial<NetnsProbe>, RegExp | undefined][] = [
    ['capable', {}, undefined],
    ['not linux', { platform: 'darwin' }, /need Linux/],
    ['not root', { uid: 1000 }, /needs root \(running as uid 1000\)/],
    ['no ip', { ip: undefined }, /iproute2/],
    ['no iptables', { iptables: undefined }, /`iptables` is not installed/],
    ['no setpriv', { setpriv: undefined }, /`setpriv` \(util-linux\) is not installed/],
    [
      'ip netns broken',
      { run: async () => Promise.reject(new WeftError('NETNS_COMMAND_FAILED', 'mount --make-shared /run/netns failed')) },
      /`ip netns` does not work here: mount/,
    ],
    ['no addon', { addonUnavailable: () => 'native addon not built' }, /capture addon is unavailable: native addon not built/],
  ];
  for (const [name, change, reason] of cases) {
    const got = await netnsAvailability({ ...capable, ...change });
    if (reason === undefined) assert.deepEqual(got, { available: true, ip: '/usr/sbin/ip', iptables: '/usr/sbin/iptables' }, name);
    else assert.ok(!got.available && reason.test(got.reason), `${name}: ${JSON.stringify(got)}`);
  }
});
