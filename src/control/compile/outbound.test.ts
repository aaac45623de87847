import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setImmediate as setImmediateP } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { MeshSnapshot } from './snapshot.js';
import { compileProxyConfig, compileProxyConfigParts } from './index.js';
import { MESH, external, gatewayConfig, hosts, service, serviceEntry, sidecar, sidecarConfig, snapshot, workload } from './outbound.fixture.js';

/** A full collection, as `--expose-gc` would give it, without starting the test runner with that flag. */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

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

  test('a section is hashed by its services and writes its bytes only when a stream needs them whole', () => {
    const sectionOf = (snap: MeshSnapshot, ns = 'shop', name = 'cart') => compileProxyConfigParts(snap, { role: 'sidecar', namespace: ns, name, serviceAccount: name }).sections.outbound;
    const a = sectionOf(snapshot(many));
    assert.equal(a.unwritten, true);
    // Compiled apart (snapshots of unfrozen resources share nothing), the same content has the same hash.
    const again = sectionOf(snapshot(many));
    assert.notEqual(again, a);
    assert.equal(again.hash, a.hash);
    assert.equal(a.json, JSON.stringify(a.value));
    assert.equal(a.unwritten, false);
    assert.equal(a.hash, again.hash, 'writing the bytes leaves the hash as it was');
    assert.equal(again.bytesSha256, createHash('sha256').update(a.bytes).digest('hex'));
    // A port more on one service, a service more, another outbound policy: each another hash.
    const changed = [
      sectionOf(snapshot(many.map((r) => (r.kind === 'Service' && r.metadata.name === 'catalog' ? service('prod-apis', 'catalog', [80, 81]) : r)))),
      sectionOf(snapshot([...many, service('shop', 'extra', [80])])),
      sectionOf(snapshot([...many, sidecar('shop', 'default', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } })])),
    ];
    assert.equal(new Set([a.hash, ...changed.map((c) => c.hash)]).size, 4);
    for (const c of changed) assert.equal(c.json, JSON.stringify(c.value));
  });

  test('bytes no stream holds are given back, and written again when a stream needs them', async () => {
    const section = compileProxyConfigParts(snapshot(many), { role: 'sidecar', namespace: 'shop', name: 'cart', serviceAccount: 'cart' }).sections.outbound;
    let held: Buffer | undefined = section.bytes;
    const text = held.toString('utf8');
    // A WeakRef's target stays until the job that made it ends; a stream's hold (here `held`) keeps it past that.
    await setImmediateP();
    collectGarbage();
    assert.equal(section.unwritten, false);
    assert.equal(section.bytes, held);
    held = undefined;
    await setImmediateP();
    collectGarbage();
    assert.equal(section.unwritten, true);
    assert.equal(section.json, text);
  });
});
