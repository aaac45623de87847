import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proxyProtocolHeader } from './proxy-protocol.js';
import { parseProxyHeader } from '../../../test/support/proxy-protocol-server.js';

// The examples of HAProxy's proxy-protocol.txt (2.1: "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n" is
// the longest v1 IPv4 line), and what a dual-stack socket reports.
const cases = [
  { name: 'IPv4', a: { sourceAddress: '192.168.0.1', sourcePort: 56324, destinationAddress: '192.168.0.11', destinationPort: 443 }, family: 'TCP4', source: '192.168.0.1', destination: '192.168.0.11' },
  { name: 'IPv4, the longest line', a: { sourceAddress: '255.255.255.255', sourcePort: 65535, destinationAddress: '255.255.255.255', destinationPort: 65535 }, family: 'TCP4', source: '255.255.255.255', destination: '255.255.255.255' },
  { name: 'IPv6', a: { sourceAddress: '2001:db8::1', sourcePort: 1, destinationAddress: 'fd00:0:0:0:0:0:0:2', destinationPort: 8080 }, family: 'TCP6', source: '2001:db8::1', destination: 'fd00::2' },
  { name: 'IPv6 loopback', a: { sourceAddress: '::1', sourcePort: 40000, destinationAddress: '::1', destinationPort: 9000 }, family: 'TCP6', source: '::1', destination: '::1' },
  { name: 'IPv4-mapped on a dual-stack socket is IPv4', a: { sourceAddress: '::ffff:10.0.0.1', sourcePort: 5, destinationAddress: '10.0.0.2', destinationPort: 6 }, family: 'TCP4', source: '10.0.0.1', destination: '10.0.0.2' },
  { name: 'mixed families: the IPv4 one mapped', a: { sourceAddress: '10.0.0.1', sourcePort: 5, destinationAddress: '2001:db8::7', destinationPort: 6 }, family: 'TCP6', source: '::ffff:10.0.0.1', destination: '2001:db8::7' },
] as const;

for (const version of ['V1', 'V2'] as const) {
  for (const c of cases) {
    test(`PROXY ${version}: ${c.name}`, () => {
      const buf = proxyProtocolHeader(version, c.a);
      const parsed = parseProxyHeader(Buffer.concat([buf, Buffer.from('payload')]));
      assert.ok(parsed !== null && parsed !== 'incomplete');
      assert.equal(parsed.length, buf.length);
      assert.deepEqual(parsed.header, {
        version: version === 'V1' ? 1 : 2,
        command: 'PROXY',
        family: c.family,
        source: c.source,
        sourcePort: c.a.sourcePort,
        destination: c.destination,
        destinationPort: c.a.destinationPort,
      });
    });
  }
}

test('PROXY V1 IPv4 is the spec text, byte for byte', () => {
  const buf = proxyProtocolHeader('V1', { sourceAddress: '192.168.0.1', sourcePort: 56324, destinationAddress: '192.168.0.11', destinationPort: 443 });
  assert.equal(buf.toString('latin1'), 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
});

test('PROXY V2 IPv4 is the spec layout, byte for byte', () => {
  const buf = proxyProtocolHeader('V2', { sourceAddress: '1.2.3.4', sourcePort: 0x1234, destinationAddress: '5.6.7.8', destinationPort: 0x5678 });
  assert.equal(buf.toString('hex'), '0d0a0d0a000d0a515549540a' + '21' + '11' + '000c' + '01020304' + '05060708' + '1234' + '5678');
});

test('without an IP address: v1 UNKNOWN, v2 LOCAL', () => {
  const a = { sourceAddress: '', sourcePort: 0, destinationAddress: '10.0.0.1', destinationPort: 80 };
  assert.deepEqual(parseProxyHeader(proxyProtocolHeader('V1', a)), { header: { version: 1, command: 'UNKNOWN' }, length: 15 });
  assert.deepEqual(parseProxyHeader(proxyProtocolHeader('V2', a)), { header: { version: 2, command: 'LOCAL' }, length: 16 });
});

test('the strict reader refuses what the spec does not allow', () => {
  assert.throws(() => parseProxyHeader(Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n')), /not TCP4/);
  assert.throws(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n')), /bad ports/);
  assert.throws(() => parseProxyHeader(Buffer.from(`PROXY TCP4 ${'x'.repeat(120)}`)), /107/);
  assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), null);
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2')), 'incomplete');
});
