import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import type { GatewayServer } from '../../proxyconfig/types.js';
import { buildSnapshot } from './snapshot.js';
import { compileGateway, resolveHost } from './gateway.js';

const BOOT = meshConfigWithDefaults({ trustDomain: 'example.org' });
const INGRESS = { istio: 'ingressgateway' };

function resource(kind: string, namespace: string, name: string, spec: unknown, created = '2024-01-01T00:00:00Z'): Resource {
  return { apiVersion: 'networking.istio.io/v1', kind, metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: created } as Resource['metadata'], spec };
}
function gateway(hosts: string[], opts: { namespace?: string; name?: string; port?: number; protocol?: string; tls?: Record<string, unknown> } = {}): Resource {
  return resource('Gateway', opts.namespace ?? 'ingress', opts.name ?? 'gw', {
    selector: INGRESS,
    servers: [{ port: { number: opts.port ?? 80, name: 'http', protocol: opts.protocol ?? 'HTTP' }, hosts, ...(opts.tls && { tls: opts.tls }) }],
  });
}
function vs(namespace: string, name: string, hosts: string[], gateways: string[], http: unknown[] = [{ route: [{ destination: { host: 'web' } }] }], created?: string): Resource {
  return resource('VirtualService', namespace, name, { hosts, gateways, http }, created);
}
const service = (namespace: string, name: string, ports: number[]): Resource => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace, name, labels: {}, annotations: {} },
  spec: { selector: { app: name }, ports: ports.map((port) => ({ name: `http-${port}`, port, protocol: 'TCP' })) },
});

function servers(resources: Resource[], labels: Record<string, string> = INGRESS): GatewayServer[] {
  return compileGateway(buildSnapshot(resources, 1, BOOT), labels);
}
function domainsOn(resources: Resource[]): string[][] {
  return (servers(resources)[0]?.virtualHosts ?? []).map((vh) => vh.domains);
}

describe('compileGateway: host intersection', () => {
  /*
   * Rows from Istio's Gateway reference (Server.hosts: "a VirtualService must be bound to the gateway and must have
   * one or more hosts that match the hosts specified in a server ... if the server's hosts specifies *.example.com, a
   * VirtualService with hosts dev.example.com or prod.example.com will match. However, a VirtualService with hosts
   * example.com or newexample.com will not match"; `namespace/dnsName` with `*` any namespace and `.` the Gateway's)
   * and from the host intersection Istio applies between the two sides (the more specific host is kept).
   */
  const rows: Array<{ name: string; server: string[]; vsHosts: string[]; vsNamespace?: string; want: string[][] }> = [
    { name: '* server takes a named host', server: ['*'], vsHosts: ['bookinfo.com'], want: [['bookinfo.com']] },
    { name: 'named server and * VirtualService keep the name', server: ['bookinfo.com'], vsHosts: ['*'], want: [['bookinfo.com']] },
    { name: 'exact names match', server: ['bookinfo.com'], vsHosts: ['bookinfo.com'], want: [['bookinfo.com']] },
    { name: 'different names do not', server: ['bookinfo.com'], vsHosts: ['reviews.com'], want: [] },
    { name: '*.example.com takes dev. and prod.', server: ['*.example.com'], vsHosts: ['dev.example.com', 'prod.example.com'], want: [['dev.example.com', 'prod.example.com']] },
    { name: '*.example.com does not take example.com', server: ['*.example.com'], vsHosts: ['example.com'], want: [] },
    { name: '*.example.com does not take newexample.com', server: ['*.example.com'], vsHosts: ['newexample.com'], want: [] },
    { name: 'narrower wildcard on the VirtualService side', server: ['*.example.com'], vsHosts: ['*.dev.example.com'], want: [['*.dev.example.com']] },
    { name: 'narrower wildcard on the server side', server: ['*.dev.example.com'], vsHosts: ['*.example.com'], want: [['*.dev.example.com']] },
    { name: 'hosts compare case-insensitively', server: ['Bookinfo.COM'], vsHosts: ['BOOKINFO.com'], want: [['bookinfo.com']] },
    { name: 'ns/host for the VirtualService namespace', server: ['ingress/bookinfo.com'], vsHosts: ['bookinfo.com'], want: [['bookinfo.com']] },
    { name: 'ns/host for another namespace', server: ['default/bookinfo.com'], vsHosts: ['bookinfo.com'], want: [] },
    { name: '*/host for any namespace', server: ['*/bookinfo.com'], vsHosts: ['bookinfo.com'], vsNamespace: 'default', want: [['bookinfo.com']] },
    { name: './host for the Gateway namespace', server: ['./bookinfo.com'], vsHosts: ['bookinfo.com'], want: [['bookinfo.com']] },
    { name: './host hides from other namespaces', server: ['./bookinfo.com'], vsHosts: ['bookinfo.com'], vsNamespace: 'default', want: [] },
  ];
  for (const row of rows) {
    test(row.name, () => {
      assert.deepEqual(domainsOn([gateway(row.server), vs(row.vsNamespace ?? 'ingress', 'vs', row.vsHosts, ['ingress/gw'])]), row.want);
    });
  }
});

describe('compileGateway: binding', () => {
  // Istio's VirtualService.gateways: `<gateway namespace>/<gateway name>`; a bare name means the VirtualService's own namespace.
  const rows: Array<{ name: string; vsNamespace: string; gateways: string[]; bound: boolean }> = [
    { name: 'short name in the Gateway namespace', vsNamespace: 'ingress', gateways: ['gw'], bound: true },
    { name: 'short name from another namespace', vsNamespace: 'default', gateways: ['gw'], bound: false },
    { name: 'ns/name from another namespace', vsNamespace: 'default', gateways: ['ingress/gw'], bound: true },
    { name: 'ns/name of another gateway', vsNamespace: 'default', gateways: ['ingress/other'], bound: false },
    { name: 'no gateways at all (mesh only)', vsNamespace: 'ingress', gateways: [], bound: false },
  ];
  for (const row of rows) {
    test(row.name, () => {
      assert.equal(domainsOn([gateway(['*']), vs(row.vsNamespace, 'vs', ['bookinfo.com'], row.gateways)]).length, row.bound ? 1 : 0);
    });
  }

  test('a Gateway whose selector does not match the proxy gives no server', () => {
    assert.deepEqual(servers([gateway(['*']), vs('ingress', 'vs', ['a.com'], ['gw'])], { istio: 'egressgateway' }), []);
  });

  test('HTTP servers share a route table per port; HTTPS, TLS and TCP servers are chains; HTTP2 and GRPC are HTTP servers', () => {
    assert.deepEqual(servers([gateway(['*'], { protocol: 'HTTPS', port: 443 })]).map((s) => [s.port, s.protocol, s.chains?.length]), [[443, 'HTTPS', 1]]);
    assert.deepEqual(servers([gateway(['*'], { protocol: 'http', port: 8080 })]).map((s) => [s.port, s.protocol, s.chains]), [[8080, 'HTTP', undefined]]);
    assert.deepEqual(
      servers([gateway(['*'], { protocol: 'HTTP2', port: 8081 }), gateway(['*'], { protocol: 'GRPC', port: 8082, name: 'g' })]).map((s) => [s.port, s.protocol, s.chains]),
      [
        [8081, 'HTTP', undefined],
        [8082, 'HTTP', undefined],
      ],
    );
    // With terminating TLS they are HTTPS servers (Istio's reading); an httpsRedirect alone keeps them plain.
    const tls = { mode: 'SIMPLE', serverCertificate: '/certs/tls.crt', privateKey: '/certs/tls.key' };
    assert.deepEqual(
      servers([gateway(['*'], { protocol: 'GRPC', port: 8443, tls }), gateway(['*'], { protocol: 'HTTP2', port: 8444, name: 'h', tls: { httpsRedirect: true } })]).map((s) => [s.port, s.protocol, s.chains?.[0]?.tls?.mode]),
      [
        [8443, 'HTTPS', 'SIMPLE'],
        [8444, 'HTTP', undefined],
      ],
    );
  });

  test('VirtualServices for the same domains merge their routes in creation order', () => {
    const late = vs('ingress', 'a-late', ['bookinfo.com'], ['gw'], [{ name: 'late', route: [{ destination: { host: 'web' } }] }], '2024-03-01T00:00:00Z');
    const early = vs('ingress', 'z-early', ['bookinfo.com'], ['gw'], [{ name: 'early', route: [{ destination: { host: 'web' } }] }], '2024-01-01T00:00:00Z');
    const vhs = servers([gateway(['*']), late, early])[0]?.virtualHosts ?? [];
    assert.equal(vhs.length, 1);
    assert.deepEqual(vhs[0]?.routes.map((r) => [r.name, r.source]), [
      ['early', 'ingress/z-early#0'],
      ['late', 'ingress/a-late#0'],
    ]);
  });
});

describe('compileGateway: routes', () => {
  const dest = { route: [{ destination: { host: 'web' } }] };

  test('match gateways and port select the match entries that apply to this listener', () => {
    const http = [
      { name: 'both', match: [{ uri: { prefix: '/a' }, gateways: ['ingress/gw'] }, { uri: { prefix: '/b' }, gateways: ['ingress/other'] }], ...dest },
      { name: 'short-ref', match: [{ uri: { prefix: '/c' }, gateways: ['gw'] }], ...dest },
      { name: 'elsewhere', match: [{ uri: { prefix: '/d' }, gateways: ['mesh'] }], ...dest },
      { name: 'wrong-port', match: [{ uri: { prefix: '/e' }, port: 8080 }], ...dest },
      { name: 'right-port', match: [{ uri: { prefix: '/f' }, port: 80 }], ...dest },
      { name: 'catch-all', ...dest },
    ];
    const routes = servers([gateway(['*']), vs('ingress', 'vs', ['a.com'], ['gw'], http)])[0]?.virtualHosts[0]?.routes ?? [];
    assert.deepEqual(
      routes.map((r) => [r.name, r.match.map((m) => m.uri)]),
      [
        ['both', [{ prefix: '/a' }]],
        ['short-ref', [{ prefix: '/c' }]],
        ['right-port', [{ prefix: '/f' }]],
        ['catch-all', []],
      ],
    );
  });

  test('destinations: short host resolved in the VirtualService namespace, port from the only service port, weights', () => {
    const http = [
      { name: 'one', route: [{ destination: { host: 'web' } }] },
      { name: 'split', route: [{ destination: { host: 'web.shop', port: { number: 8080 } }, weight: 80 }, { destination: { host: 'api.shop.svc.cluster.local' }, weight: 20 }] },
      { name: 'no-route', redirect: { uri: '/x' } },
    ];
    const reg = [service('shop', 'web', [9000]), service('shop', 'api', [81, 82])];
    const routes = servers([...reg, gateway(['*/*']), vs('shop', 'vs', ['shop.com'], ['ingress/gw'], http)])[0]?.virtualHosts[0]?.routes ?? [];
    assert.deepEqual(routes.map((r) => [r.name, r.destinations]), [
      ['one', [{ host: 'web.shop.svc.cluster.local', port: 9000, weight: 100 }]],
      [
        'split',
        [
          { host: 'web.shop.svc.cluster.local', port: 8080, weight: 80 },
          { host: 'api.shop.svc.cluster.local', port: 80, weight: 20 },
        ],
      ],
      // A redirect is the gateway's own answer, so it is sent with no destinations.
      ['no-route', []],
    ]);
  });

  test('rewrite, timeout and empty header matches carry over', () => {
    const http = [{ match: [{ headers: { 'x-user': {} }, withoutHeaders: { 'x-debug': { exact: '1' } }, ignoreUriCase: true, uri: { exact: '/A' } }], rewrite: { uri: '/b' }, timeout: '1.5s', ...dest }];
    const r = servers([gateway(['*']), vs('ingress', 'vs', ['a.com'], ['gw'], http)])[0]?.virtualHosts[0]?.routes[0];
    assert.deepEqual(r?.match[0]?.headers, { 'x-user': { present: true } });
    assert.deepEqual(r?.match[0]?.withoutHeaders, { 'x-debug': { exact: '1' } });
    assert.equal(r?.match[0]?.ignoreUriCase, true);
    assert.deepEqual(r?.rewrite, { uri: '/b' });
    assert.equal(r?.timeoutMs, 1500);
  });

  // Istio's ResolveShortnameToFQDN for a bare name; weft also completes `name.namespace` and `name.namespace.svc`
  // the way Kubernetes DNS does.
  const hostRows: Array<[string, string, string]> = [
    ['reviews', 'default', 'reviews.default.svc.cluster.local'],
    ['Reviews', 'default', 'reviews.default.svc.cluster.local'],
    ['reviews.prod', 'default', 'reviews.prod.svc.cluster.local'],
    ['reviews.prod.svc', 'default', 'reviews.prod.svc.cluster.local'],
    ['reviews.prod.svc.cluster.local', 'default', 'reviews.prod.svc.cluster.local'],
    ['api.example.com', 'default', 'api.example.com'],
  ];
  for (const [host, ns, want] of hostRows) {
    test(`resolveHost(${host}, ${ns})`, () => assert.equal(resolveHost(host, ns), want));
  }
});
