import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../../errors.js';
import { choosePodSubnet, DEFAULT_POD_RANGE, formatIPv4, hostAddressesFromIpJson, overlaps, parseCidr, parseIPv4 } from './pod-subnet.js';

describe('IPv4 parsing', () => {
  const cases: [string, number | undefined][] = [
    ['0.0.0.0', 0],
    ['198.18.0.1', 198 * 2 ** 24 + 18 * 2 ** 16 + 1],
    ['255.255.255.255', 2 ** 32 - 1],
    ['256.1.1.1', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['1.2.3.x', undefined],
    ['::1', undefined],
  ];
  for (const [text, want] of cases) {
    test(text, () => {
      assert.equal(parseIPv4(text), want);
      if (want !== undefined) assert.equal(formatIPv4(want), text);
    });
  }

  test('CIDRs: host bits and malformed ranges are refused', () => {
    assert.deepEqual(parseCidr('198.18.0.0/15'), { network: parseIPv4('198.18.0.0'), prefix: 15 });
    for (const bad of ['198.19.0.0/15', '10.0.0.0', '10.0.0.0/33', 'x/8', '10.0.0.0/-1']) {
      assert.throws(() => parseCidr(bad), (e) => isWeftError(e, 'BAD_REQUEST'), bad);
    }
  });

  const overlap: [string, string, boolean][] = [
    ['198.18.0.0/24', '198.18.0.0/15', true],
    ['198.18.0.0/15', '198.18.7.0/24', true],
    ['198.18.1.0/24', '198.18.2.0/24', false],
    ['10.0.0.0/8', '198.18.0.0/24', false],
    ['0.0.0.0/0', '198.18.0.0/24', true],
  ];
  for (const [a, b, want] of overlap) test(`${a} overlaps ${b}: ${want}`, () => assert.equal(overlaps(parseCidr(a), parseCidr(b)), want));
});

describe('choosePodSubnet', () => {
  test('takes the preferred /24 of the default range when nothing is in the way', () => {
    const s = choosePodSubnet(DEFAULT_POD_RANGE, [{ address: '127.0.0.1', prefix: 8 }], 3);
    assert.equal(s.cidr, '198.18.3.0/24');
    assert.equal(s.bridgeAddress, '198.18.3.1');
    assert.equal(s.podAddress(0), '198.18.3.10');
    assert.equal(s.podAddress(s.maxPods - 1), '198.18.3.254');
    assert.throws(() => s.podAddress(s.maxPods), RangeError);
  });

  test('skips every /24 a host address is in, wrapping around the range', () => {
    const hosts = [
      { address: '198.19.255.7', prefix: 24 },
      { address: '198.18.0.1', prefix: 23 },
    ];
    // Block 511 is the last /24 of the /15; the next ones (0 and 1) are inside the host's /23.
    assert.equal(choosePodSubnet(DEFAULT_POD_RANGE, hosts, 511).cidr, '198.18.2.0/24');
  });

  test('a host address with a wide prefix rules out the whole range', () => {
    assert.throws(
      () => choosePodSubnet(DEFAULT_POD_RANGE, [{ address: '198.0.0.1', prefix: 8 }]),
      (e) => isWeftError(e, 'NETNS_NO_POD_SUBNET'),
    );
  });

  test('a range narrower than /24 is used whole; one under /28 is refused', () => {
    const s = choosePodSubnet('10.9.8.0/26', []);
    assert.equal(s.cidr, '10.9.8.0/26');
    assert.equal(s.maxPods, 64 - 11);
    assert.throws(() => choosePodSubnet('10.9.8.0/29', []), (e) => isWeftError(e, 'BAD_REQUEST'));
  });

  test('reads the IPv4 addresses of `ip -j addr`', () => {
    const json = JSON.stringify([
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
      { ifname: 'eth0', addr_info: [{ family: 'inet', local: '198.18.5.4', prefixlen: 24 }] },
      { ifname: 'dummy0' },
    ]);
    assert.deepEqual(hostAddressesFromIpJson(json), [
      { address: '127.0.0.1', prefix: 8 },
      { address: '198.18.5.4', prefix: 24 },
    ]);
    assert.equal(choosePodSubnet(DEFAULT_POD_RANGE, hostAddressesFromIpJson(json), 5).cidr, '198.18.6.0/24');
    assert.deepEqual(hostAddressesFromIpJson(''), []);
  });
});
