import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { givenDnsAddress, hostsWantingVip, isPlainIPv4, serviceEntryFrom } from './service-entries.js';

const entry = (spec: unknown, namespace = 'default', name = 'se'): Resource => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'ServiceEntry',
  metadata: { namespace, name, labels: {}, annotations: {} } as Resource['metadata'],
  spec,
});

describe('ServiceEntry ports: protocol selection', () => {
  // Declared protocol first (HTTPS is carried as tls: passed through by SNI), else the port name's prefix.
  const rows: Array<{ port: { number: number; name: string; protocol?: string; targetPort?: number }; want: [string, number] | undefined }> = [
    { port: { number: 80, name: 'web', protocol: 'HTTP' }, want: ['http', 80] },
    { port: { number: 443, name: 'https', protocol: 'HTTPS' }, want: ['tls', 443] },
    { port: { number: 443, name: 'x', protocol: 'TLS' }, want: ['tls', 443] },
    { port: { number: 5000, name: 'x', protocol: 'TCP' }, want: ['tcp', 5000] },
    { port: { number: 27018, name: 'mongodb', protocol: 'MONGO' }, want: ['tcp', 27018] },
    { port: { number: 3306, name: 'x', protocol: 'MYSQL' }, want: ['tcp', 3306] },
    { port: { number: 6379, name: 'x', protocol: 'REDIS' }, want: ['tcp', 6379] },
    { port: { number: 8080, name: 'x', protocol: 'HTTP2' }, want: ['http2', 8080] },
    { port: { number: 9000, name: 'x', protocol: 'GRPC' }, want: ['grpc', 9000] },
    { port: { number: 9000, name: 'x', protocol: 'grpc' }, want: ['grpc', 9000] },
    { port: { number: 5432, name: 'tcp-postgres' }, want: ['tcp', 5432] },
    { port: { number: 443, name: 'tls-api' }, want: ['tls', 443] },
    { port: { number: 80, name: 'http', targetPort: 8080 }, want: ['http', 8080] },
    { port: { number: 53, name: 'dns', protocol: 'UDP' }, want: undefined },
  ];
  for (const r of rows) {
    test(`${JSON.stringify(r.port)} → ${JSON.stringify(r.want)}`, () => {
      const e = serviceEntryFrom(entry({ hosts: ['a.example.com'], ports: [r.port] }));
      assert.deepEqual(e.ports.map((p) => [p.protocol, p.targetPort]), r.want === undefined ? [] : [r.want]);
    });
  }
});

describe('ServiceEntry defaults and resolution', () => {
  test('hosts lower-cased; location MESH_EXTERNAL, resolution NONE, exportTo absent by default', () => {
    const e = serviceEntryFrom(entry({ hosts: ['API.Example.COM', '*.Wikipedia.org'] }));
    assert.deepEqual(e.hosts, ['api.example.com', '*.wikipedia.org']);
    assert.equal(e.location, 'MESH_EXTERNAL');
    assert.equal(e.resolution, 'NONE');
    assert.equal(e.exportTo, undefined);
  });
  const resolutions: Array<[string, string]> = [
    ['NONE', 'NONE'],
    ['STATIC', 'STATIC'],
    ['DNS', 'DNS'],
    ['DNS_ROUND_ROBIN', 'DNS'],
    ['DYNAMIC_DNS', 'DNS'],
  ];
  for (const [given, want] of resolutions) {
    test(`resolution ${given} → ${want}`, () => assert.equal(serviceEntryFrom(entry({ hosts: ['a.b'], resolution: given })).resolution, want));
  }
  test('endpoints keep address and named ports; an endpoint without an address is dropped', () => {
    const e = serviceEntryFrom(
      entry({
        hosts: ['foo.bar.com'],
        resolution: 'DNS',
        ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
        endpoints: [{ address: 'us.foo.bar.com', ports: { http: 8080 } }, { address: 'uk.foo.bar.com' }, { network: 'n1' }],
      }),
    );
    assert.deepEqual(e.endpoints, [
      { address: 'us.foo.bar.com', ports: { http: 8080 } },
      { address: 'uk.foo.bar.com', ports: {} },
    ]);
  });
});

describe('which hosts get a DNS answer of their own or a VIP', () => {
  const rows: Array<{ name: string; spec: Record<string, unknown>; given: string | undefined; vip: string[] }> = [
    { name: 'first plain IP answers, CIDRs skipped', spec: { hosts: ['db.internal'], addresses: ['10.1.0.0/16', '10.2.3.4', '10.5.6.7'], resolution: 'STATIC' }, given: '10.2.3.4', vip: [] },
    { name: 'STATIC without an address: VIP', spec: { hosts: ['db.internal'], resolution: 'STATIC' }, given: undefined, vip: ['db.internal'] },
    { name: 'DNS without an address: VIP for exact hosts only', spec: { hosts: ['a.example.com', '*.example.com'], resolution: 'DNS' }, given: undefined, vip: ['a.example.com'] },
    { name: 'NONE: no VIP (the app must resolve it itself)', spec: { hosts: ['a.example.com'], resolution: 'NONE' }, given: undefined, vip: [] },
    { name: 'only a CIDR: VIP with DNS resolution', spec: { hosts: ['mongo.x'], addresses: ['192.192.192.192/24'], resolution: 'DNS' }, given: undefined, vip: ['mongo.x'] },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const e = serviceEntryFrom(entry(r.spec));
      assert.equal(givenDnsAddress(e), r.given);
      assert.deepEqual(hostsWantingVip(e), r.vip);
    });
  }
  test('isPlainIPv4', () => {
    assert.deepEqual(['1.2.3.4', '1.2.3.4/32', '256.1.1.1', '::1', 'a.b.c.d', '1.2.3'].map(isPlainIPv4), [true, false, false, false, false, false]);
  });
});
