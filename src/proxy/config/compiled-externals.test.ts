import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExternalService, PortProtocol } from '../../proxyconfig/types.js';
import { CompiledExternals } from './compiled-externals.js';

function entry(
  source: string,
  hosts: string[],
  ports: Array<[port: number, protocol: PortProtocol, name?: string, targetPort?: number]>,
  over: Partial<ExternalService> = {},
): ExternalService {
  return {
    source,
    namespace: source.split('/')[0]!,
    hosts,
    addresses: [],
    dns: [],
    ports: ports.map(([port, protocol, name, targetPort]) => ({ port, protocol, name: name ?? `p${port}`, targetPort: targetPort ?? port })),
    location: 'MESH_EXTERNAL',
    resolution: 'NONE',
    endpoints: [],
    ...over,
  };
}

const externals = new CompiledExternals([
  entry('default/wide', ['*.example.com'], [[80, 'http'], [443, 'tls']]),
  entry('default/narrow', ['*.api.example.com'], [[80, 'http']]),
  entry('default/exact', ['shop.example.com', 'Bookinfo.COM'], [[80, 'http'], [8443, 'tls']]),
  entry('default/later-duplicate', ['shop.example.com'], [[80, 'http']]),
  entry('default/grpc', ['grpc.test'], [[9000, 'grpc']]),
  entry('db/pg', ['pg.internal'], [[5432, 'tcp']], { addresses: ['203.0.113.0/24', '2001:db8::/32'] }),
  entry('db/one', ['one.internal'], [[5432, 'tcp']], { addresses: ['198.51.100.7'] }),
  entry('db/any', ['any.internal'], [[6379, 'tcp']]),
  entry('db/any-and-addressed', ['redis.internal'], [[6379, 'tcp']], { addresses: ['192.0.2.1'] }),
  entry('db/auto-vip', ['mongo.internal'], [[27017, 'tcp']], { resolution: 'DNS', dns: [{ host: 'mongo.internal', address: '198.19.0.50' }] }),
  entry('db/catch-all', ['other.internal'], [[27017, 'tcp']]),
]);

describe('CompiledExternals.http: exact host, then the longest *.suffix, on the request port', () => {
  const rows: Array<[host: string, port: number, want: string | undefined]> = [
    ['shop.example.com', 80, 'default/exact'],
    ['bookinfo.com', 80, 'default/exact'],
    ['v1.api.example.com', 80, 'default/narrow'],
    ['api.example.com', 80, 'default/wide'],
    ['dev.example.com', 80, 'default/wide'],
    ['a.b.example.com', 80, 'default/wide'],
    ['example.com', 80, undefined],
    ['notexample.com', 80, undefined],
    ['shop.example.com', 8080, undefined],
    ['grpc.test', 9000, 'default/grpc'],
    // A TLS port is never matched by Host.
    ['shop.example.com', 8443, undefined],
  ];
  for (const [host, port, want] of rows) test(`${host}:${port} → ${String(want)}`, () => assert.equal(externals.http(host, port)?.source, want));
});

describe('CompiledExternals.tls: by SNI on the port dialled', () => {
  const rows: Array<[sni: string | undefined, port: number, want: string | undefined]> = [
    ['shop.example.com', 8443, 'default/exact'],
    ['shop.example.com', 443, 'default/wide'],
    ['SHOP.example.com', 443, 'default/wide'],
    ['example.com', 443, undefined],
    ['shop.example.com', 80, undefined],
    [undefined, 443, undefined],
    ['', 443, undefined],
  ];
  for (const [sni, port, want] of rows) test(`${String(sni)}:${port} → ${String(want)}`, () => assert.equal(externals.tls(sni, port)?.source, want));
});

describe('CompiledExternals.tcp: by address or CIDR; an entry without addresses takes the whole port', () => {
  const rows: Array<[address: string, port: number, want: string | undefined]> = [
    ['203.0.113.9', 5432, 'db/pg'],
    ['2001:db8::5', 5432, 'db/pg'],
    ['198.51.100.7', 5432, 'db/one'],
    ['198.51.100.8', 5432, undefined],
    ['203.0.113.9', 5433, undefined],
    ['10.9.9.9', 6379, 'db/any'],
    ['192.0.2.1', 6379, 'db/any-and-addressed'],
    ['not-an-ip', 6379, 'db/any'],
    ['10.9.9.9', 80, undefined],
    // The address the DNS proxy gave the host names its entry, ahead of an entry taking the whole port.
    ['198.19.0.50', 27017, 'db/auto-vip'],
    ['10.1.1.1', 27017, 'db/auto-vip'],
  ];
  for (const [address, port, want] of rows) test(`${address}:${port} → ${String(want)}`, () => assert.equal(externals.tcp(address, port)?.source, want));
});

describe('CompiledExternals.opaqueByHost: CONNECT names a host', () => {
  const rows: Array<[host: string, port: number, want: string | undefined]> = [
    ['shop.example.com', 443, 'default/wide'],
    ['pg.internal', 5432, 'db/pg'],
    ['shop.example.com', 80, undefined],
  ];
  for (const [host, port, want] of rows) test(`${host}:${port} → ${String(want)}`, () => assert.equal(externals.opaqueByHost(host, port)?.source, want));
});

describe('ExternalRoute.pickEndpoint', () => {
  const c = new CompiledExternals([
    entry('default/static', ['api.static'], [[80, 'http', 'http', 8080]], {
      resolution: 'STATIC',
      endpoints: [
        { address: '192.0.2.10', ports: {} },
        { address: '192.0.2.11', ports: { http: 9090 } },
      ],
    }),
    entry('default/none', ['api.none'], [[80, 'http']]),
  ]);
  test('round robin; the endpoint port by port name, else targetPort', () => {
    const r = c.http('api.static', 80)!;
    assert.deepEqual([r.pickEndpoint(), r.pickEndpoint(), r.pickEndpoint()], [
      { address: '192.0.2.10', port: 8080 },
      { address: '192.0.2.11', port: 9090 },
      { address: '192.0.2.10', port: 8080 },
    ]);
  });
  test('no endpoints: nothing to pick', () => assert.equal(c.http('api.none', 80)?.pickEndpoint(), undefined));
});
