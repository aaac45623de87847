import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetnsProbe } from './netns-availability.js';
import { chooseIsolation } from './isolation-choice.js';

const capable: NetnsProbe = {
  platform: 'linux',
  uid: 0,
  ip: '/usr/sbin/ip',
  iptables: '/usr/sbin/iptables',
  setpriv: '/usr/bin/setpriv',
  run: async () => ({ stdout: '', stderr: '' }),
  addonUnavailable: () => undefined,
};
const unprivileged: NetnsProbe = { ...capable, uid: 1000 };

test('netns by default when the machine can; loopback when asked or when it cannot, saying why', async () => {
  const cases: [string, 'none' | 'netns' | undefined, NetnsProbe, string, RegExp | undefined][] = [
    ['root, no flag', undefined, capable, 'netns', undefined],
    ['not root, no flag', undefined, unprivileged, 'none', /loopback because creating network namespaces needs root .*NOT isolated/],
    ['--isolation=none as root', 'none', capable, 'none', undefined],
    ['--isolation=netns is not second-guessed here', 'netns', unprivileged, 'netns', undefined],
  ];
  for (const [name, requested, probe, want, notice] of cases) {
    const got = await chooseIsolation(requested, probe);
    assert.equal(got.isolation, want, name);
    if (notice === undefined) assert.equal(got.notice, undefined, name);
    else assert.match(got.notice ?? '', notice, name);
  }
});
