/**
 * A DestinationRule's connection pool at the pools to a ServiceEntry host, as at a mesh cluster: requests per
 * connection (1 turns keep-alive off), counted by the connections a real HTTP server on loopback accepts, and the
 * circuit breaker (maxConnections with http1MaxPendingRequests, http2MaxRequests): 503 `UO` with x-envoy-overloaded
 * past the limits, a queued request sent when a connection is released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ConnectionPoolPolicy, ExternalService, HttpRoute, ProxyConfig } from '../../proxyconfig/types.js';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import { acceptProxyConfig } from '../config/compiled-config.js';
import { EndpointPools } from '../upstream/endpoint-pools.js';
import { stack } from './exchange.js';
import type { Dispatch } from './exchange.js';
import { matchRoute } from './route-layer.js';
import { RecordedExchange } from './recorded-exchange.fixture.js';
import { externalDestinations } from './external-layer.js';
import { compileRoutes } from '../../route/http-route-match.js';
import { compileTrafficPolicy } from '../../control/compile/cluster-policy.js';

const HOST = 'plain.example.test';

function config(port: number, connectionPool: ConnectionPoolPolicy | undefined): ProxyConfig {
  const entry: ExternalService = {
    source: 'default/plain',
    namespace: 'default',
    hosts: [HOST],
    addresses: [],
    dns: [],
    ports: [{ port: 80, name: 'http', protocol: 'http', targetPort: 80 }],
    location: 'MESH_EXTERNAL',
    resolution: 'STATIC',
    endpoints: [{ address: '127.0.0.1', ports: { http: port } }],
    ...(connectionPool !== undefined && { connectionPools: [{ host: HOST, port: 80, connectionPool }] }),
  };
  return {
    schema: PROXY_CONFIG_SCHEMA,
    version: 'v',
    proxy: { role: 'gateway', namespace: 'weft-system', name: 'istio-egressgateway', spiffeId: 'spiffe://cluster.local/ns/weft-system/sa/istio-egressgateway-service-account', labels: { istio: 'egressgateway' } },
    trustDomain: 'cluster.local',
    inbound: null,
    outbound: { services: [], externals: [entry], trafficPolicy: 'REGISTRY_ONLY' },
    gateway: null,
    security: { rootNamespace: 'weft-system', pathNormalization: 'BASE', authorizationPolicies: [], jwtRules: [], extensionProviders: [] },
  };
}

const route: HttpRoute = { source: 'default/out#0', name: '', match: [], destinations: [{ host: HOST, port: 80, weight: 100 }], timeoutMs: 0 };
const noMesh: Dispatch = () => assert.fail('a ServiceEntry host never reaches endpoint choice');

/** How many requests each connection the server accepted carried, for `requests` sent one after another. */
async function requestsPerConnection(requests: number, http1: Record<string, unknown> | undefined): Promise<number[]> {
  const perConnection = new Map<Socket, number>();
  const server = http.createServer((req, res) => {
    perConnection.set(req.socket, (perConnection.get(req.socket) ?? 0) + 1);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pools = new EndpointPools(undefined);
  try {
    const policy = http1 === undefined ? undefined : compileTrafficPolicy({ connectionPool: { http: http1 } } as never).connectionPool;
    const cfg = acceptProxyConfig(config((server.address() as AddressInfo).port, policy));
    const dispatch = stack([matchRoute(() => 0), externalDestinations(pools, { resolve: (h: string) => Promise.resolve(h) })], noMesh);
    for (let i = 0; i < requests; i++) {
      const ex = new RecordedExchange(HOST);
      ex.cfg = cfg;
      ex.routes = compileRoutes([route]);
      dispatch(ex, ex);
      await ex.done;
      assert.equal(ex.status, 200);
      // undici puts the connection back in the pool after the answer's end is delivered.
      await new Promise((r) => setImmediate(r));
    }
    return [...perConnection.values()];
  } finally {
    await pools.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const cases: Array<{ name: string; http1: Record<string, unknown> | undefined; want: (counts: number[]) => boolean }> = [
  { name: 'no rule: one keep-alive connection', http1: undefined, want: (c) => c.length === 1 },
  { name: 'a rule without a per-connection limit: one connection', http1: { idleTimeout: '5s' }, want: (c) => c.length === 1 },
  { name: 'maxRequestsPerConnection: 1 turns keep-alive off', http1: { maxRequestsPerConnection: 1 }, want: (c) => c.length === 6 },
  // Envoy's limit is a ceiling: no connection carries more than two, and the first carries two.
  { name: 'maxRequestsPerConnection: 2: a connection carries at most two requests', http1: { maxRequestsPerConnection: 2 }, want: (c) => c[0] === 2 && c.every((n) => n <= 2) },
];

for (const c of cases) {
  test(`ServiceEntry host pools follow the DestinationRule: ${c.name}`, async () => {
    const counts = await requestsPerConnection(6, c.http1);
    assert.ok(c.want(counts), `requests per connection: ${counts.join(', ')}`);
  });
}

/** Starts `count` requests at once at a server that answers only when told to; what each got. */
async function concurrent(count: number, connectionPool: Record<string, unknown>): Promise<{ statuses: number[]; overloaded: unknown[]; seenBeforeRelease: number }> {
  const held: http.ServerResponse[] = [];
  let seen = 0;
  let onSeen: () => void = () => undefined;
  const server = http.createServer((_req, res) => {
    seen++;
    held.push(res);
    onSeen();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pools = new EndpointPools(undefined);
  try {
    const policy = compileTrafficPolicy({ connectionPool } as never).connectionPool;
    const cfg = acceptProxyConfig(config((server.address() as AddressInfo).port, policy));
    const dispatch = stack([matchRoute(() => 0), externalDestinations(pools, { resolve: (h: string) => Promise.resolve(h) })], noMesh);
    const calls = Array.from({ length: count }, () => {
      const ex = new RecordedExchange(HOST);
      ex.cfg = cfg;
      ex.routes = compileRoutes([route]);
      dispatch(ex, ex);
      return ex;
    });
    // The first request reaches the server; the others are queued or refused meanwhile.
    await new Promise<void>((r) => (seen > 0 ? r() : (onSeen = r)));
    const seenBeforeRelease = seen;
    // Each answer releases the connection to the next queued request, which the server then holds in turn.
    onSeen = () => held.shift()?.end('ok');
    held.shift()?.end('ok');
    await Promise.all(calls.map((c) => c.done));
    return { statuses: calls.map((c) => c.status), overloaded: calls.map((c) => c.responseHeaders['x-envoy-overloaded']), seenBeforeRelease };
  } finally {
    await pools.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

test('ServiceEntry host circuit breaker: maxConnections 1, one request may wait, the third is refused 503 UO', async () => {
  const r = await concurrent(3, { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } });
  assert.equal(r.seenBeforeRelease, 1);
  assert.deepEqual(r.statuses, [200, 200, 503]);
  assert.deepEqual(r.overloaded, [undefined, undefined, 'true']);
});

test('ServiceEntry host circuit breaker: http2MaxRequests 1 refuses the second request in flight', async () => {
  const r = await concurrent(2, { http: { http2MaxRequests: 1 } });
  assert.deepEqual(r.statuses, [200, 503]);
});
