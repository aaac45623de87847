/**
 * Sidecar tcp and tls routes per opaque service port (Istio's tcp-traffic-shifting task and the VirtualService
 * reference's TLS example): VirtualServices bound to the mesh, entries for other ports, gateways or source
 * workloads dropped; none for the port: no routes (the default route); HTTP ports never get them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import type { OutboundPort, ProxyConfig } from '../../proxyconfig/types.js';
import { service, sidecarConfig, snapshot, workload } from './outbound.fixture.js';

let age = 0;
function res(apiVersion: string, kind: string, namespace: string, name: string, spec: unknown): Resource {
  age += 1;
  return { apiVersion, kind, metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: `2024-01-01T00:00:${String(age).padStart(2, '0')}Z` } as Resource['metadata'], spec };
}
const istio = (kind: string, name: string, spec: unknown): Resource => res('networking.istio.io/v1', kind, 'istio-io-tcp-traffic-shifting', name, spec);
const NS = 'istio-io-tcp-traffic-shifting';
const ECHO = `tcp-echo.${NS}.svc.cluster.local`;

const BASE: Resource[] = [
  res('v1', 'Service', NS, 'tcp-echo', { selector: { app: 'tcp-echo' }, ports: [{ name: 'tcp', port: 9000 }, { name: 'tcp-other', port: 9001 }, { name: 'tls', port: 9443 }] }),
  service(NS, 'web', [8080]),
  workload(NS, 'tcp-echo-v1', { app: 'tcp-echo', version: 'v1' }),
  workload(NS, 'tcp-echo-v2', { app: 'tcp-echo', version: 'v2' }),
  workload(NS, 'sleep', { app: 'sleep' }),
  workload('other', 'client', { app: 'client' }),
];

// Istio's samples/tcp-echo/tcp-echo-20-v2.yaml.
const SHIFT_20 = istio('VirtualService', 'tcp-echo', {
  hosts: ['tcp-echo'],
  tcp: [{ match: [{ port: 9000 }], route: [{ destination: { host: 'tcp-echo', port: { number: 9000 }, subset: 'v1' }, weight: 80 }, { destination: { host: 'tcp-echo', port: { number: 9000 }, subset: 'v2' }, weight: 20 }] }],
});
const SUBSETS = istio('DestinationRule', 'tcp-echo-destination', { host: 'tcp-echo', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] });

function port(cfg: ProxyConfig, host: string, n: number): OutboundPort {
  const p = cfg.outbound.services.find((s) => s.host === host)?.ports.find((x) => x.port === n);
  assert.ok(p, `no ${host}:${n}`);
  return p;
}
const from = (resources: Resource[], n = 9000, ns = NS, name = 'sleep'): OutboundPort => port(sidecarConfig(snapshot([...BASE, ...resources]), ns, name), ECHO, n);

describe('sidecar tcp routes', () => {
  test('no VirtualService: no routes, the default route', () => {
    const p = from([]);
    assert.equal(p.tcp, undefined);
    assert.equal(p.tls, undefined);
  });
  test("Istio's 80/20 shift: the weighted split to both subsets, and the subsets' clusters with their endpoints", () => {
    const p = from([SHIFT_20, SUBSETS]);
    assert.deepEqual(p.tcp, [
      {
        source: `${NS}/tcp-echo#0`,
        match: [{ port: 9000 }],
        destinations: [
          { host: ECHO, port: 9000, weight: 80, subset: 'v1' },
          { host: ECHO, port: 9000, weight: 20, subset: 'v2' },
        ],
      },
    ]);
    assert.deepEqual(
      p.clusters?.map((c) => [c.subset, c.endpoints.length]),
      [[null, 2], ['v1', 1], ['v2', 1]],
    );
  });
  test('an entry for another port drops the route there', () => assert.equal(from([SHIFT_20], 9001).tcp, undefined));
  const entries: Array<[string, Record<string, unknown>, boolean]> = [
    ['sourceLabels of the caller', { sourceLabels: { app: 'sleep' } }, true],
    ['sourceLabels of another workload', { sourceLabels: { app: 'other' } }, false],
    ['sourceNamespace of the caller', { sourceNamespace: NS }, true],
    ['another sourceNamespace', { sourceNamespace: 'other' }, false],
    ['gateways: [mesh]', { gateways: ['mesh'] }, true],
    ['gateways: [a gateway] only', { gateways: ['ingress'] }, false],
    ['destinationSubnets kept for the proxy to match', { destinationSubnets: ['198.19.200.0/24'] }, true],
  ];
  for (const [name, match, applies] of entries) {
    test(`match ${name}`, () => {
      const vs = istio('VirtualService', 'm', { hosts: ['tcp-echo'], tcp: [{ match: [match], route: [{ destination: { host: 'tcp-echo', subset: 'v2' } }] }] });
      const p = from([vs, SUBSETS]);
      assert.equal(p.tcp !== undefined, applies);
      if (applies && 'destinationSubnets' in match) assert.deepEqual(p.tcp?.[0]?.match, [{ destinationSubnets: ['198.19.200.0/24'] }]);
    });
  }
  test('a destination without a port takes the listener port when the service has several', () => {
    const vs = istio('VirtualService', 'np', { hosts: ['tcp-echo'], tcp: [{ route: [{ destination: { host: 'tcp-echo' } }] }] });
    assert.deepEqual(from([vs], 9001).tcp?.[0]?.destinations, [{ host: ECHO, port: 9001, weight: 100 }]);
  });
  test('an HTTP port never gets tcp routes', () => {
    const vs = istio('VirtualService', 'w', { hosts: ['web'], tcp: [{ route: [{ destination: { host: 'tcp-echo', port: { number: 9000 } } }] }] });
    const p = port(sidecarConfig(snapshot([...BASE, vs]), NS, 'sleep'), `web.${NS}.svc.cluster.local`, 8080);
    assert.equal(p.tcp, undefined);
  });
});

describe('sidecar tls routes', () => {
  test('sniHosts kept lower case, beside the tcp routes of the same port', () => {
    const vs = istio('VirtualService', 't', {
      hosts: ['tcp-echo'],
      tls: [{ match: [{ sniHosts: ['V2.Example.com'], port: 9443 }], route: [{ destination: { host: 'tcp-echo', subset: 'v2' } }] }],
      tcp: [{ route: [{ destination: { host: 'tcp-echo', subset: 'v1' } }] }],
    });
    const p = from([vs, SUBSETS], 9443);
    assert.deepEqual(p.tls, [{ source: `${NS}/t#0`, match: [{ sniHosts: ['v2.example.com'], port: 9443 }], destinations: [{ host: ECHO, port: 9443, weight: 100, subset: 'v2' }] }]);
    assert.equal(p.tcp?.length, 1);
  });
  test('a VirtualService not exported to the caller applies to no route there', () => {
    const vs = istio('VirtualService', 'x', { hosts: ['tcp-echo'], exportTo: ['.'], tcp: [{ route: [{ destination: { host: 'tcp-echo', subset: 'v2' } }] }] });
    assert.equal(from([vs], 9000, 'other', 'client').tcp, undefined);
    assert.notEqual(from([vs]).tcp, undefined);
  });
});
