import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MESH, external, serviceEntry, sidecarConfig, snapshot } from './outbound.fixture.js';

describe('ServiceEntry → externals (Istio reference examples)', () => {
  const entries = [
    serviceEntry('egress', 'external-svc-https', { hosts: ['api.dropboxapi.com', 'www.googleapis.com'], location: 'MESH_EXTERNAL', ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS' }),
    serviceEntry('egress', 'external-svc-mongocluster', {
      hosts: ['mymongodb.somedomain'],
      addresses: ['192.192.192.192/24'],
      ports: [{ number: 27018, name: 'mongodb', protocol: 'MONGO' }],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      endpoints: [{ address: '2.2.2.2' }, { address: '3.3.3.3' }],
    }),
    serviceEntry('egress', 'external-svc-wildcard', { hosts: ['*.bar.com'], location: 'MESH_EXTERNAL', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'NONE' }),
    serviceEntry('egress', 'external-svc-dns', {
      hosts: ['foo.bar.com'],
      location: 'MESH_EXTERNAL',
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      resolution: 'DNS',
      endpoints: [{ address: 'us.foo.bar.com', ports: { http: 8080 } }, { address: 'uk.foo.bar.com', ports: { http: 9080 } }],
    }),
    serviceEntry('egress', 'with-address', { hosts: ['Legacy.Corp.Example', '*.corp.example'], addresses: ['10.20.0.0/16', '10.20.30.40'], ports: [{ number: 5432, name: 'tcp-pg' }], resolution: 'STATIC', endpoints: [{ address: '10.20.30.40' }] }),
    serviceEntry('egress', 'none-exact', { hosts: ['plain.example.org'], ports: [{ number: 8443, name: 'tls-x', targetPort: 443 }] }),
  ];
  const snap = snapshot([...MESH, ...entries]);
  const c = sidecarConfig(snap, 'shop', 'cart');
  const serviceVips = new Set(c.outbound.services.flatMap((s) => s.addresses));

  test('externals in namespace/name order', () => {
    assert.deepEqual(c.outbound.externals.map((e) => e.source), [
      'egress/external-svc-dns',
      'egress/external-svc-https',
      'egress/external-svc-mongocluster',
      'egress/external-svc-wildcard',
      'egress/none-exact',
      'egress/with-address',
    ]);
  });

  test('DNS resolution: a VIP per host from the service range, none shared with a service', () => {
    const e = external(c, 'egress/external-svc-https');
    assert.deepEqual(e.dns.map((d) => d.host), ['api.dropboxapi.com', 'www.googleapis.com']);
    for (const d of e.dns) {
      assert.match(d.address, /^198\.19\.200\.\d+$/);
      assert.ok(!serviceVips.has(d.address), `${d.address} is also a service VIP`);
    }
    assert.notEqual(e.dns[0]?.address, e.dns[1]?.address);
    assert.deepEqual([e.resolution, e.location, e.ports], ['DNS', 'MESH_EXTERNAL', [{ port: 443, name: 'https', protocol: 'tls', targetPort: 443 }]]);
  });

  test('STATIC with only a CIDR: a VIP; the CIDR, protocol, location and endpoints as given', () => {
    const e = external(c, 'egress/external-svc-mongocluster');
    assert.deepEqual(e.addresses, ['192.192.192.192/24']);
    assert.equal(e.dns.length, 1);
    assert.deepEqual([e.resolution, e.location, e.ports[0]?.protocol], ['STATIC', 'MESH_INTERNAL', 'tcp']);
    assert.deepEqual(e.endpoints, [
      { address: '2.2.2.2', ports: {} },
      { address: '3.3.3.3', ports: {} },
    ]);
  });

  test('wildcard with NONE: no DNS answer, the app resolves it', () => {
    const e = external(c, 'egress/external-svc-wildcard');
    assert.deepEqual([e.hosts, e.dns, e.resolution], [['*.bar.com'], [], 'NONE']);
  });

  test('DNS endpoints keep their per-port overrides', () => {
    assert.deepEqual(external(c, 'egress/external-svc-dns').endpoints, [
      { address: 'us.foo.bar.com', ports: { http: 8080 } },
      { address: 'uk.foo.bar.com', ports: { http: 9080 } },
    ]);
  });

  test('an entry with a plain address answers with it for exact hosts only; hosts lower-cased; protocol from the port name', () => {
    const e = external(c, 'egress/with-address');
    assert.deepEqual(e.hosts, ['legacy.corp.example', '*.corp.example']);
    assert.deepEqual(e.dns, [{ host: 'legacy.corp.example', address: '10.20.30.40' }]);
    assert.equal(e.ports[0]?.protocol, 'tcp');
  });

  test('NONE resolution with an exact host: no answer; targetPort as given', () => {
    const e = external(c, 'egress/none-exact');
    assert.deepEqual(e.dns, []);
    assert.deepEqual(e.ports, [{ port: 8443, name: 'tls-x', protocol: 'tls', targetPort: 443 }]);
  });

  test('without a service range only given addresses answer', () => {
    const plain = sidecarConfig(snapshot([...MESH, ...entries], null), 'shop', 'cart');
    assert.deepEqual(plain.outbound.externals.flatMap((e) => e.dns), [{ host: 'legacy.corp.example', address: '10.20.30.40' }]);
  });

  test('a service VIP never falls inside a ServiceEntry address range', () => {
    const s = snapshot([...MESH, serviceEntry('egress', 'squat', { hosts: ['squat.example'], addresses: ['198.19.200.0/25'], resolution: 'NONE' })]);
    for (const svc of sidecarConfig(s, 'shop', 'cart').outbound.services) {
      assert.ok(Number(svc.addresses[0]?.split('.')[3]) >= 128, `${svc.host} at ${svc.addresses[0]}`);
    }
  });
});
