import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { ExternalService, ProxyConfig } from '../../proxyconfig/types.js';
import { buildSnapshot } from './snapshot.js';
import type { MeshSnapshot } from './snapshot.js';
import { compileProxyConfig, compileProxyConfigParts } from './index.js';

const BOOT = { ...meshConfigWithDefaults({}), rootNamespace: 'istio-config' };
const CIDR = '198.19.200.0/24';

function resource(kind: string, namespace: string, name: string, spec: unknown, o: { labels?: Record<string, string>; annotations?: Record<string, string>; status?: unknown } = {}): Resource {
  return {
    apiVersion: kind === 'Service' ? 'v1' : kind === 'Workload' ? 'weft.dev/v1alpha1' : 'networking.istio.io/v1',
    kind,
    metadata: { namespace, name, labels: o.labels ?? {}, annotations: o.annotations ?? {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'],
    spec,
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}
const service = (ns: string, name: string, ports: number[], extra: { annotations?: Record<string, string>; clusterIP?: string } = {}): Resource =>
  resource('Service', ns, name, { selector: { app: name }, ports: ports.map((port) => ({ name: `http-${port}`, port, protocol: 'TCP' })), clusterIP: extra.clusterIP }, { annotations: extra.annotations });
let podIndex = 10;
const workload = (ns: string, name: string, labels: Record<string, string> = { app: name }): Resource =>
  resource('Workload', ns, name, { serviceAccount: name, command: ['app'], env: {}, ports: [] }, { labels, status: { phase: 'Running', podIP: `198.18.0.${podIndex++}` } });
const serviceEntry = (ns: string, name: string, spec: unknown): Resource => resource('ServiceEntry', ns, name, spec);
const sidecar = (ns: string, name: string, spec: unknown): Resource => resource('Sidecar', ns, name, spec);

// The mesh of Istio's Sidecar reference: prod-us1 calls prod-apis and istio-system; ratings has its own Sidecar.
const MESH: Resource[] = [
  service('prod-us1', 'productpage', [9080]),
  service('prod-us1', 'reviews', [9080, 9090]),
  service('prod-us1', 'ratings', [9080]),
  service('prod-apis', 'catalog', [80]),
  service('istio-system', 'istiod', [15010, 15012]),
  service('shop', 'cart', [8080]),
  workload('prod-us1', 'productpage'),
  workload('prod-us1', 'reviews'),
  workload('prod-us1', 'ratings'),
  workload('shop', 'cart'),
  workload('prod-apis', 'catalog'),
];

/** null: a mesh without a service range. */
const snapshot = (resources: Resource[], serviceCidr: string | null = CIDR): MeshSnapshot => buildSnapshot(resources, 1, BOOT, new Map(), { serviceCidr: serviceCidr ?? undefined });
const sidecarConfig = (snap: MeshSnapshot, namespace: string, name: string): ProxyConfig => ProxyConfigSchema.parse(compileProxyConfig(snap, { role: 'sidecar', namespace, name, serviceAccount: name }));
const gatewayConfig = (snap: MeshSnapshot, namespace: string): ProxyConfig =>
  ProxyConfigSchema.parse(compileProxyConfig(snap, { role: 'gateway', namespace, name: 'ingressgateway', serviceAccount: 'ingressgateway', labels: { istio: 'ingressgateway' } }));
const hosts = (c: ProxyConfig): string[] => c.outbound.services.map((s) => s.host).sort();
const external = (c: ProxyConfig, source: string): ExternalService => {
  const e = c.outbound.externals.find((x) => x.source === source);
  assert.ok(e, `no external ${source}`);
  return e;
};

describe('service VIPs', () => {
  test('with a service range every service has one VIP in it, the same for every proxy', () => {
    const snap = snapshot(MESH);
    const a = sidecarConfig(snap, 'prod-us1', 'productpage');
    const b = sidecarConfig(snap, 'shop', 'cart');
    const vips = a.outbound.services.map((s) => s.addresses);
    assert.ok(vips.every((v) => v.length === 1 && /^198\.19\.200\.\d+$/.test(v[0] ?? '')), JSON.stringify(vips));
    assert.equal(new Set(vips.flat()).size, vips.length);
    assert.deepEqual(b.outbound.services.map((s) => [s.host, s.addresses]), a.outbound.services.map((s) => [s.host, s.addresses]));
  });

  test('without a service range there are none', () => {
    const c = sidecarConfig(snapshot(MESH, null), 'prod-us1', 'productpage');
    assert.ok(c.outbound.services.every((s) => s.addresses.length === 0));
  });

  test('adding and removing services moves no other VIP', () => {
    const vipsOf = (snap: MeshSnapshot): Map<string, string> => new Map(sidecarConfig(snap, 'shop', 'cart').outbound.services.map((s) => [s.host, s.addresses[0] ?? '']));
    const before = vipsOf(snapshot(MESH));
    const added = vipsOf(snapshot([...MESH, service('prod-us1', 'details', [9080]), service('shop', 'payments', [443])]));
    const removed = vipsOf(snapshot(MESH.filter((r) => !(r.kind === 'Service' && r.metadata.name === 'catalog'))));
    for (const [host, vip] of before) {
      assert.equal(added.get(host), vip, `${host} moved when services were added`);
      if (!host.startsWith('catalog.')) assert.equal(removed.get(host), vip, `${host} moved when a service was removed`);
    }
  });

  test('clusterIP pins the VIP; a headless service (None) has none', () => {
    const c = sidecarConfig(snapshot([...MESH, service('shop', 'pinned', [80], { clusterIP: '198.19.200.77' }), service('shop', 'headless', [80], { clusterIP: 'None' })]), 'shop', 'cart');
    assert.deepEqual(c.outbound.services.find((s) => s.host === 'pinned.shop.svc.cluster.local')?.addresses, ['198.19.200.77']);
    assert.deepEqual(c.outbound.services.find((s) => s.host === 'headless.shop.svc.cluster.local')?.addresses, []);
  });
});

describe('exportTo', () => {
  const mesh = [
    ...MESH,
    service('prod-apis', 'private', [80], { annotations: { 'networking.istio.io/exportTo': '.' } }),
    service('prod-apis', 'hidden', [80], { annotations: { 'networking.istio.io/exportTo': '~' } }),
    service('prod-apis', 'for-shop', [80], { annotations: { 'networking.istio.io/exportTo': '., shop' } }),
    serviceEntry('prod-apis', 'se-private', { hosts: ['private.example.com'], exportTo: ['.'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }] }),
    serviceEntry('prod-apis', 'se-all', { hosts: ['all.example.com'], exportTo: ['*'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }] }),
    serviceEntry('prod-apis', 'se-shop', { hosts: ['shop.example.com'], exportTo: ['shop'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }] }),
  ];
  const snap = snapshot(mesh);
  const rows: Array<{ from: string; config: () => ProxyConfig; services: string[]; externals: string[] }> = [
    { from: 'prod-apis (owner)', config: () => sidecarConfig(snap, 'prod-apis', 'catalog'), services: ['for-shop', 'private'], externals: ['se-all', 'se-private'] },
    { from: 'shop', config: () => sidecarConfig(snap, 'shop', 'cart'), services: ['for-shop'], externals: ['se-all', 'se-shop'] },
    { from: 'prod-us1', config: () => sidecarConfig(snap, 'prod-us1', 'productpage'), services: [], externals: ['se-all'] },
    { from: 'a gateway in shop', config: () => gatewayConfig(snap, 'shop'), services: ['for-shop'], externals: ['se-all', 'se-shop'] },
  ];
  for (const r of rows) {
    test(`seen from ${r.from}`, () => {
      const c = r.config();
      const restricted = ['private', 'hidden', 'for-shop'];
      assert.deepEqual(c.outbound.services.map((s) => s.host.split('.')[0] ?? '').filter((n) => restricted.includes(n)).sort(), r.services);
      assert.deepEqual(c.outbound.externals.map((e) => e.source.split('/')[1]).sort(), r.externals);
    });
  }
});

describe('Sidecar egress', () => {
  const mesh = [
    ...MESH,
    serviceEntry('prod-apis', 'dropbox', { hosts: ['api.dropboxapi.com', 'www.googleapis.com'], ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS' }),
    // Istio's reference: a namespace default in the root namespace, one for prod-us1, one for its ratings workload.
    sidecar('istio-config', 'default', { egress: [{ hosts: ['./*', 'istio-system/*'] }] }),
    sidecar('prod-us1', 'default', { egress: [{ hosts: ['prod-us1/*', 'prod-apis/*', 'istio-system/*'] }] }),
    sidecar('prod-us1', 'ratings', {
      workloadSelector: { labels: { app: 'ratings' } },
      egress: [{ port: { number: 9080, protocol: 'HTTP', name: 'egresshttp' }, hosts: ['prod-us1/*'] }, { hosts: ['istio-system/*'] }],
      outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
    }),
    sidecar('prod-apis', 'only-dropbox', { egress: [{ hosts: ['./api.dropboxapi.com'] }] }),
  ];
  const snap = snapshot(mesh);

  test('the namespace Sidecar: its own namespace, prod-apis and istio-system', () => {
    const c = sidecarConfig(snap, 'prod-us1', 'productpage');
    assert.deepEqual(hosts(c), [
      'catalog.prod-apis.svc.cluster.local',
      'istiod.istio-system.svc.cluster.local',
      'productpage.prod-us1.svc.cluster.local',
      'ratings.prod-us1.svc.cluster.local',
      'reviews.prod-us1.svc.cluster.local',
    ]);
    assert.deepEqual(external(c, 'prod-apis/dropbox').hosts, ['api.dropboxapi.com', 'www.googleapis.com']);
    assert.equal(c.outbound.trafficPolicy, 'REGISTRY_ONLY');
  });

  test('the workload Sidecar: port 9080 only in prod-us1, all istio-system, nothing else; its traffic policy', () => {
    const c = sidecarConfig(snap, 'prod-us1', 'ratings');
    assert.deepEqual(
      c.outbound.services.map((s) => [s.host, s.ports.map((p) => p.port)]).sort(),
      [
        ['istiod.istio-system.svc.cluster.local', [15010, 15012]],
        ['productpage.prod-us1.svc.cluster.local', [9080]],
        ['ratings.prod-us1.svc.cluster.local', [9080]],
        ['reviews.prod-us1.svc.cluster.local', [9080]],
      ],
    );
    assert.deepEqual(c.outbound.externals, []);
    assert.equal(c.outbound.trafficPolicy, 'ALLOW_ANY');
  });

  test('the root namespace default: . is the workload namespace', () => {
    assert.deepEqual(hosts(sidecarConfig(snap, 'shop', 'cart')), ['cart.shop.svc.cluster.local', 'istiod.istio-system.svc.cluster.local']);
  });

  test('one host of a ServiceEntry imported: the external keeps only that host', () => {
    const c = sidecarConfig(snap, 'prod-apis', 'catalog');
    assert.deepEqual(hosts(c), []);
    const e = external(c, 'prod-apis/dropbox');
    assert.deepEqual(e.hosts, ['api.dropboxapi.com']);
    assert.deepEqual(e.dns.map((d) => d.host), ['api.dropboxapi.com']);
  });

  test('a gateway is never narrowed by a Sidecar', () => {
    const c = gatewayConfig(snap, 'prod-us1');
    assert.deepEqual(hosts(c), hosts(sidecarConfig(snapshot(MESH), 'shop', 'cart')));
    assert.equal(c.outbound.trafficPolicy, 'REGISTRY_ONLY');
    assert.equal(c.outbound.externals.length, 1);
  });

  test('hosts of one entry imported on different ports become one external each', () => {
    const s = snapshot([
      ...MESH,
      serviceEntry('ext', 'multi', { hosts: ['a.example.com', 'b.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }, { number: 443, name: 'https', protocol: 'HTTPS' }], resolution: 'DNS' }),
      sidecar('shop', 'default', { egress: [{ port: { number: 80, protocol: 'HTTP', name: 'web' }, hosts: ['ext/a.example.com'] }, { hosts: ['ext/b.example.com', './*'] }] }),
    ]);
    const c = sidecarConfig(s, 'shop', 'cart');
    assert.deepEqual(
      c.outbound.externals.map((e) => [e.hosts, e.ports.map((p) => p.port)]),
      [
        [['a.example.com'], [80]],
        [['b.example.com'], [80, 443]],
      ],
    );
  });
});

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

describe('sharing of the outbound section', () => {
  const many = [...MESH, workload('shop', 'cart-2', { app: 'cart' }), workload('shop', 'web', { app: 'web' }), workload('prod-us1', 'ratings-2', { app: 'ratings' })];
  const outboundOf = (snap: MeshSnapshot, ns: string, name: string): unknown => compileProxyConfigParts(snap, { role: 'sidecar', namespace: ns, name, serviceAccount: name }).config.outbound;

  test('without Sidecars every proxy of a namespace, and its gateways, share one object', () => {
    const snap = snapshot(many);
    const first = outboundOf(snap, 'shop', 'cart');
    assert.equal(outboundOf(snap, 'shop', 'cart-2'), first);
    assert.equal(outboundOf(snap, 'shop', 'web'), first);
    assert.equal(compileProxyConfig(snap, { role: 'gateway', namespace: 'shop', name: 'gw', serviceAccount: 'gw', labels: {} }).outbound, first);
  });

  test('with a selecting Sidecar: its workloads share one, the rest another', () => {
    const snap = snapshot([...many, sidecar('prod-us1', 'ratings', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./*'] }] })]);
    const ratings = outboundOf(snap, 'prod-us1', 'ratings');
    assert.equal(outboundOf(snap, 'prod-us1', 'ratings-2'), ratings);
    assert.notEqual(outboundOf(snap, 'prod-us1', 'productpage'), ratings);
  });
});
