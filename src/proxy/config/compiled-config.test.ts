import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isWeftError } from '../../errors.js';
import type { Endpoint, HttpRoute, ProxyConfig, VirtualHost } from '../../proxyconfig/types.js';
import { BalancedPort, acceptProxyConfig } from './compiled-config.js';
import type { CompiledProxyConfig } from './compiled-config.js';

function endpoint(address: string): Endpoint {
  return { address, inboundPort: 15006, targetPort: 9080, spiffeId: 'spiffe://example.org/ns/default/sa/reviews', mtls: true, workload: `default/${address}` };
}
const ROUTE: HttpRoute = { source: 'ingress/vs#0', name: '', match: [], destinations: [{ host: 'web.default.svc.cluster.local', port: 80, weight: 100 }], timeoutMs: 0 };
const vh = (gateway: string, domains: string[], routes: HttpRoute[] = [ROUTE]): VirtualHost => ({ gateway, domains, routes });

function config(over: Partial<ProxyConfig> = {}): Record<string, unknown> {
  return {
    schema: 3,
    version: 'v1',
    proxy: { role: 'sidecar', namespace: 'default', name: 'reviews-v1', spiffeId: 'spiffe://example.org/ns/default/sa/reviews', labels: {} },
    trustDomain: 'example.org',
    inbound: null,
    outbound: {
      services: [
        {
          host: 'reviews.default.svc.cluster.local',
          namespace: 'default',
          aliases: ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local'],
          ports: [{ port: 9080, name: 'http', protocol: 'http', endpoints: [endpoint('10.0.0.1'), endpoint('10.0.0.2'), endpoint('10.0.0.3')] }],
          addresses: [],
        },
      ],
      externals: [],
      trafficPolicy: 'REGISTRY_ONLY',
    },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
    ...over,
  };
}
const accept = (over: Partial<ProxyConfig> = {}): CompiledProxyConfig => acceptProxyConfig(config(over));

describe('BalancedPort', () => {
  test('round robin over the endpoints, in order, wrapping', () => {
    const p = new BalancedPort('reviews.default.svc.cluster.local', 9080, [endpoint('a'), endpoint('b'), endpoint('c')]);
    assert.deepEqual(Array.from({ length: 7 }, () => p.pick()?.address), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  test('no endpoints: nothing to pick', () => {
    const p = new BalancedPort('x', 80, []);
    assert.equal(p.pick(), undefined);
    assert.equal(p.pick(), undefined);
  });

  test("Istio's outbound SNI", () => {
    assert.equal(new BalancedPort('reviews.default.svc.cluster.local', 9080, []).sni, 'outbound_.9080_._.reviews.default.svc.cluster.local');
  });
});

describe('CompiledProxyConfig: outbound lookup', () => {
  const c = accept();
  test('every alias and the host find the same service', () => {
    for (const name of ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local']) {
      assert.equal(c.service(name), c.byHost.get('reviews.default.svc.cluster.local'), name);
    }
    assert.equal(c.service('ratings'), undefined);
    assert.equal(c.service('reviews.other'), undefined);
  });
  test('ports are balanced per port', () => {
    const port = c.service('reviews')?.ports.get(9080);
    assert.deepEqual([port?.pick()?.address, port?.pick()?.address], ['10.0.0.1', '10.0.0.2']);
    assert.equal(c.service('reviews')?.ports.get(80), undefined);
  });
});

describe('CompiledProxyConfig.virtualHost: Envoy domain search order', () => {
  // Envoy route_config virtual_hosts: exact domain first, then the longest suffix wildcard, then `*`; Istio's gateway
  // listeners follow it, whatever order the VirtualServices were written in.
  const c = accept({
    proxy: { role: 'gateway', namespace: 'ingress', name: 'gw', spiffeId: 'spiffe://example.org/ns/ingress/sa/gw', labels: {} },
    gateway: {
      servers: [
        { port: 80, name: 'http', protocol: 'HTTP', virtualHosts: [vh('any', ['*']), vh('wide', ['*.example.com']), vh('narrow', ['*.api.example.com']), vh('exact', ['shop.example.com', 'bookinfo.com'])] },
        { port: 8080, name: 'alt', protocol: 'HTTP', virtualHosts: [vh('only', ['bookinfo.com'])] },
      ],
    },
  });
  const rows: Array<[port: number, host: string, want: string | undefined]> = [
    [80, 'shop.example.com', 'exact'],
    [80, 'bookinfo.com', 'exact'],
    [80, 'v1.api.example.com', 'narrow'],
    [80, 'dev.example.com', 'wide'],
    [80, 'example.com', 'any'],
    [80, 'localhost', 'any'],
    [8080, 'bookinfo.com', 'only'],
    [8080, 'shop.example.com', undefined],
    [9999, 'bookinfo.com', undefined],
  ];
  for (const [port, host, want] of rows) {
    test(`${host}:${port} → ${String(want)}`, () => assert.equal(c.virtualHost(port, host)?.gateway, want));
  }

  test('equally specific wildcards: the earlier virtual host wins', () => {
    const d = accept({
      gateway: { servers: [{ port: 80, name: 'http', protocol: 'HTTP', virtualHosts: [vh('first', ['*.example.com']), vh('second', ['*.example.com', 'x.org'])] }] },
    });
    assert.equal(d.virtualHost(80, 'a.example.com')?.gateway, 'first');
    assert.equal(d.virtualHost(80, 'x.org')?.gateway, 'second');
  });
});

describe('CompiledProxyConfig: inbound port maps', () => {
  const inbound = (ports: Array<[number, 'STRICT' | 'PERMISSIVE' | 'DISABLE']>, servicePorts: Array<[string, number, number]>, defaultMode: 'STRICT' | 'PERMISSIVE' | 'DISABLE' = 'STRICT') =>
    accept({
      inbound: {
        defaultMode,
        ports: ports.map(([port, mode]) => ({ port, name: '', protocol: 'http' as const, mode })),
        servicePorts: servicePorts.map(([host, port, targetPort]) => ({ host, port, targetPort })),
      },
    }).inbound;

  test('host:port and unambiguous service ports map to app ports', () => {
    const i = inbound(
      [
        [8080, 'STRICT'],
        [9090, 'STRICT'],
      ],
      [
        ['a.default.svc.cluster.local', 80, 8080],
        ['b.default.svc.cluster.local', 80, 9090],
        ['a.default.svc.cluster.local', 81, 9090],
        ['b.default.svc.cluster.local', 81, 9090],
      ],
    );
    assert.equal(i?.targetPorts.get('a.default.svc.cluster.local:80'), 8080);
    assert.equal(i?.targetPorts.get('b.default.svc.cluster.local:80'), 9090);
    // Port 80 leads to two app ports, so a short Host cannot choose: no entry. Port 81 is unambiguous.
    assert.deepEqual([...(i?.targetByServicePort ?? [])], [[81, 9090]]);
    assert.deepEqual(i?.appPorts, [8080, 9090]);
    assert.equal(i?.modes.get(8080), 'STRICT');
  });

  const strictRows: Array<[string, Array<[number, 'STRICT' | 'PERMISSIVE' | 'DISABLE']>, 'STRICT' | 'PERMISSIVE' | 'DISABLE', boolean]> = [
    ['all STRICT', [[8080, 'STRICT']], 'STRICT', true],
    ['no ports, STRICT default', [], 'STRICT', true],
    ['one PERMISSIVE port', [[8080, 'STRICT'], [9090, 'PERMISSIVE']], 'STRICT', false],
    ['one DISABLE port', [[8080, 'DISABLE']], 'STRICT', false],
    ['PERMISSIVE default', [[8080, 'STRICT']], 'PERMISSIVE', false],
  ];
  for (const [name, ports, def, want] of strictRows) {
    test(`strictEverywhere: ${name}`, () => assert.equal(inbound(ports, [], def)?.strictEverywhere, want));
  }

  test('no inbound section: no inbound maps', () => assert.equal(accept().inbound, null));
});

describe('acceptProxyConfig', () => {
  const rejected = (input: unknown, reason: RegExp) => () =>
    assert.throws(() => acceptProxyConfig(input), (e: unknown) => isWeftError(e, 'PROXY_CONFIG_REJECTED') && reason.test(e.message));

  test('not an object', rejected('nope', /invalid config at \(root\)/));
  test('an unknown schema version', rejected(config({ schema: 4 as 3 }), /invalid config at schema/));
  test('an unknown field', rejected({ ...config(), extra: true }, /invalid config/));
  test('a bad port', () => {
    const bad = config();
    (bad.outbound as { services: Array<{ ports: Array<{ port: number }> }> }).services[0]!.ports[0]!.port = 70000;
    rejected(bad, /invalid config at outbound\.services\.0\.ports\.0\.port/)();
  });
  test('a route regex the proxy cannot compile', rejected(
    config({ gateway: { servers: [{ port: 80, name: 'http', protocol: 'HTTP', virtualHosts: [vh('g', ['*'], [{ ...ROUTE, match: [{ uri: { regex: '(' } }] }])] }] } }),
    /cannot compile config/,
  ));
  test('a good config is accepted with its version', () => assert.equal(accept().version, 'v1'));
});

describe('CompiledProxyConfig: addresses and traffic policy', () => {
  const base = config();
  const outbound = base.outbound as ProxyConfig['outbound'];
  const c = acceptProxyConfig({
    ...base,
    outbound: { ...outbound, services: [{ ...outbound.services[0]!, addresses: ['198.19.0.9', 'fd00::9'] }], trafficPolicy: 'ALLOW_ANY' },
  });
  test('every address of a service finds it', () => {
    assert.equal(c.serviceAt('198.19.0.9')?.host, 'reviews.default.svc.cluster.local');
    assert.equal(c.serviceAt('fd00::9')?.host, 'reviews.default.svc.cluster.local');
    assert.equal(c.serviceAt('198.19.0.10'), undefined);
  });
  test('the port keeps its protocol', () => assert.equal(c.serviceAt('198.19.0.9')?.ports.get(9080)?.protocol, 'http'));
  test('the traffic policy is carried', () => {
    assert.equal(c.trafficPolicy, 'ALLOW_ANY');
    assert.equal(accept().trafficPolicy, 'REGISTRY_ONLY');
  });
});
