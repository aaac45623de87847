/**
 * What a push does to the runtime state a sidecar keeps per endpoint, through swapConfig as `weft proxy` runs it:
 * a delta that removes a service or an endpoint closes its connection pools (real connections on loopback, seen
 * closing from the upstream's side) and drops its registry state; the state of a service the push did not change
 * (balancer position, requests in flight, ejections, its pools and their connections) is the same afterwards.
 */
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { OutboundService, ProxyConfig, TrafficPolicyConfig } from '../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../proxyconfig/default-traffic-policy.js';
import { applyConfigDelta } from '../push/config-delta.js';
import type { ConfigDelta } from '../push/config-delta.js';
import { acceptMergedConfig, acceptProxyConfig } from './config/compiled-config.js';
import type { CompiledProxyConfig } from './config/compiled-config.js';
import { proxyConfig } from './config/proxy-config.fixture.js';
import { EndpointRegistry } from './balance/endpoint-registry.js';
import { FakeClock } from './balance/fake-clock.fixture.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { swapConfig } from './swap-config.js';
import type { ServedNames } from './swap-config.js';
import { EndpointPools } from './upstream/endpoint-pools.js';
import { H2SessionPools } from './http2/h2-session-pool.js';
import type { UpstreamTarget } from './upstream/upstream-target.js';

const hostOf = (name: string): string => `${name}.shop.svc.cluster.local`;
const clusterName = (name: string): string => `outbound|80||${hostOf(name)}`;
const OUTLIER = { consecutive5xx: 1, consecutiveGatewayErrors: 0, consecutiveLocalOriginFailures: 5, splitExternalLocalOriginErrors: false, intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, minHealthPercent: 0 };
const POLICY: TrafficPolicyConfig = { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: 'ROUND_ROBIN' }, outlierDetection: OUTLIER, connectionPool: { ...DEFAULT_TRAFFIC_POLICY.connectionPool, maxRequests: 10 } };
const ctx = { random: () => 0, hashKey: undefined };

/** A service on port 80 whose endpoints are `address:inboundPort` pairs dialled in plaintext, under a round-robin rule with outlier detection. */
function service(name: string, endpoints: Array<[string, number]>): OutboundService {
  const host = hostOf(name);
  return {
    host,
    namespace: 'shop',
    aliases: [name],
    addresses: [],
    ports: [
      {
        port: 80,
        name: 'http',
        protocol: 'http',
        endpoints: endpoints.map(([address, inboundPort]) => ({ address, inboundPort, targetPort: 8080, spiffeId: `spiffe://cluster.local/ns/shop/sa/${name}`, mtls: false, workload: `shop/${name}` })),
        clusters: [{ name: clusterName(name), host, port: 80, subset: null, labels: {}, destinationRules: ['shop/dr'], policy: POLICY, endpoints: endpoints.map(([a]) => a) }],
      },
    ],
  };
}

/** An upstream on loopback that answers every request and records its connections. */
async function upstream(t: TestContext, address: string): Promise<{ target: UpstreamTarget; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = http.createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: net.Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, address, r));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { target: { address, port: (server.address() as AddressInfo).port }, sockets };
}

function runtime(t: TestContext): { rt: Pick<ProxyRuntime, 'config' | 'endpoints' | 'pools' | 'h2Pools'>; clock: FakeClock; names: ServedNames } {
  const clock = new FakeClock();
  const rt = { config: undefined as CompiledProxyConfig | undefined, endpoints: new EndpointRegistry(clock), pools: new EndpointPools(undefined), h2Pools: new H2SessionPools(undefined) };
  t.after(async () => {
    rt.endpoints.close();
    await rt.pools.close();
  });
  return { rt, clock, names: { table: undefined } };
}

/** `cfg` pushed as the control plane writes it: the services by host, against the config in force. */
function delta(previous: CompiledProxyConfig, sent: ProxyConfig, cfg: ProxyConfig): CompiledProxyConfig {
  const was = new Map(sent.outbound.services.map((s) => [s.host, JSON.stringify(s)]));
  const set = cfg.outbound.services.filter((s) => was.get(s.host) !== JSON.stringify(s));
  const remove = [...was.keys()].filter((h) => !cfg.outbound.services.some((s) => s.host === h));
  const order = cfg.outbound.services.map((s) => s.host);
  const d = JSON.parse(JSON.stringify({ type: 'config-delta', base: sent.version, version: cfg.version, outbound: { services: { set, remove, order } } })) as ConfigDelta;
  return acceptMergedConfig(applyConfigDelta(previous.raw, d), previous);
}

async function get(pools: EndpointPools, target: UpstreamTarget): Promise<void> {
  const res = await pools.get(target).request({ path: '/', method: 'GET' });
  assert.equal(await res.body.text(), 'ok');
}

describe('a push through swapConfig', () => {
  test('a delta removing a service closes its pools and drops its cluster; the other service keeps its pool and connection', async (t) => {
    const { rt, clock, names } = runtime(t);
    const web = await upstream(t, '127.0.0.1');
    const ratings = await upstream(t, '127.0.0.1');
    const v1 = proxyConfig('v1', [service('web', [['127.0.0.1', web.target.port]]), service('ratings', [['127.0.0.1', ratings.target.port]])]);
    swapConfig(rt, acceptProxyConfig(v1), names);
    await get(rt.pools, web.target);
    await get(rt.pools, ratings.target);
    const webPool = rt.pools.get(web.target);
    const ratingsPool = rt.pools.get(ratings.target);
    assert.equal(clock.pending, 2, 'one outlier sweep per cluster');

    const v2 = proxyConfig('v2', [service('web', [['127.0.0.1', web.target.port]])]);
    const next = delta(rt.config!, v1, v2);
    assert.equal(next.byHost.get(hostOf('web')), rt.config!.byHost.get(hostOf('web')), 'web is kept by the compile');
    swapConfig(rt, next, names);

    assert.equal(rt.endpoints.cluster(clusterName('ratings')), undefined);
    assert.equal(rt.endpoints.endpoint(clusterName('ratings'), '127.0.0.1'), undefined);
    assert.equal(names.table?.address(hostOf('ratings')), undefined);
    // The removed cluster's sweep fires once more and stops; web's goes on.
    clock.advance(1000);
    assert.equal(clock.pending, 1);
    assert.notEqual(rt.pools.get(ratings.target), ratingsPool);
    // The upstream sees the removed endpoint's idle connection close (bounded by the test's timeout if it never did).
    for (const s of ratings.sockets) if (!s.destroyed) await once(s, 'close');
    assert.equal(rt.pools.get(web.target), webPool);
    await get(rt.pools, web.target);
    assert.equal(web.sockets.length, 1, 'web went on over its one connection');
    assert.equal(web.sockets[0]!.destroyed, false);
  });

  test('a delta removing one endpoint closes its pool and drops its state; the endpoints that stay keep theirs', async (t) => {
    const { rt, names } = runtime(t);
    const one = await upstream(t, '127.0.0.1');
    const two = await upstream(t, '127.0.0.2');
    const both: Array<[string, number]> = [
      ['127.0.0.1', one.target.port],
      ['127.0.0.2', two.target.port],
    ];
    const v1 = proxyConfig('v1', [service('web', both), service('ratings', [['10.0.0.9', 15006]])]);
    swapConfig(rt, acceptProxyConfig(v1), names);
    await get(rt.pools, one.target);
    await get(rt.pools, two.target);
    const stays = rt.endpoints.endpoint(clusterName('web'), '127.0.0.1');
    assert.ok(stays);
    stays.activeRequests = 2;
    const gone = rt.endpoints.endpoint(clusterName('web'), '127.0.0.2');
    assert.ok(gone);
    gone.consecutive5xx = 3;
    const poolOne = rt.pools.get(one.target);
    const poolTwo = rt.pools.get(two.target);

    const v2 = proxyConfig('v2', [service('web', [both[0]!]), service('ratings', [['10.0.0.9', 15006]])]);
    swapConfig(rt, delta(rt.config!, v1, v2), names);

    assert.equal(rt.endpoints.endpoint(clusterName('web'), '127.0.0.2'), undefined);
    assert.equal(rt.endpoints.endpoint(clusterName('web'), '127.0.0.1'), stays);
    assert.equal(stays.activeRequests, 2);
    assert.notEqual(rt.pools.get(two.target), poolTwo);
    for (const s of two.sockets) if (!s.destroyed) await once(s, 'close');
    assert.equal(rt.pools.get(one.target), poolOne);
    assert.equal(one.sockets[0]!.destroyed, false);

    // Back later: fresh state, a new pool.
    const v3 = proxyConfig('v3', [service('web', both), service('ratings', [['10.0.0.9', 15006]])]);
    swapConfig(rt, delta(rt.config!, v2, v3), names);
    assert.equal(rt.endpoints.endpoint(clusterName('web'), '127.0.0.2')?.consecutive5xx, 0);
  });

  test("a push that leaves a service as it was keeps its balancer position, requests in flight and ejections, delta or whole", (t) => {
    const { rt, names } = runtime(t);
    const three: Array<[string, number]> = [
      ['10.0.0.1', 15006],
      ['10.0.0.2', 15006],
      ['10.0.0.3', 15006],
    ];
    const v1 = proxyConfig('v1', [service('web', three), service('ratings', [['10.0.0.9', 15006]])]);
    swapConfig(rt, acceptProxyConfig(v1), names);
    const web = rt.endpoints.cluster(clusterName('web'));
    assert.ok(web);
    const picks = (n: number): Array<string | undefined> => Array.from({ length: n }, () => rt.endpoints.cluster(clusterName('web'))?.pick(ctx)?.address);
    assert.deepEqual(picks(1), ['10.0.0.1']);
    assert.equal(web.breaker.startRequest().admitted, true);
    const bad = rt.endpoints.endpoint(clusterName('web'), '10.0.0.3')!;
    web.outlierDetector!.reportStatus(bad, 503);
    assert.equal(bad.ejected, true);
    const table = names.table;

    // A delta that changes only ratings.
    const v2 = proxyConfig('v2', [service('web', three), service('ratings', [['10.0.0.10', 15006]])]);
    swapConfig(rt, delta(rt.config!, v1, v2), names);
    assert.equal(rt.endpoints.cluster(clusterName('web')), web);
    assert.deepEqual(picks(2), ['10.0.0.2', '10.0.0.1'], 'round robin goes on; the ejected host stays out');
    assert.equal(web.breaker.activeRequests, 1);
    assert.equal(bad.ejected, true);
    assert.equal(names.table, table, 'no name or address changed: the same DNS table');

    // The same services again, sent whole: every part is new, the state is the same.
    swapConfig(rt, acceptProxyConfig({ ...v2, version: 'v3' }), names);
    assert.equal(rt.endpoints.cluster(clusterName('web')), web);
    assert.equal(rt.endpoints.endpoint(clusterName('web'), '10.0.0.3'), bad);
    assert.deepEqual(picks(1), ['10.0.0.2']);
    assert.equal(web.breaker.activeRequests, 1);
    assert.equal(bad.ejected, true);
    assert.equal(names.table, table);
  });
});
