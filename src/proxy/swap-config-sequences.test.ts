/**
 * A config swapped in at the cost of what it changed (swapConfig) must leave the runtime as a swap of the whole
 * would, and keep what did not change: checked on generated sequences of pushes (services added, removed and
 * changed, DestinationRules with subsets, tls modes and locality, the proxy's labels, aliases and addresses), each
 * sent as the control plane writes it (a delta) or whole. After every push the endpoint registry holds exactly the
 * clusters and hosts a registry built from the new config alone holds, with the same state objects for those that
 * stayed; an endpoint pool stays exactly when its endpoint is still listed; the DNS table answers as one built from
 * the new config, and is the same table when no name or address changed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ClusterConfig, OutboundService, ProxyConfig, TrafficPolicyConfig } from '../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../proxyconfig/default-traffic-policy.js';
import { REGION_LABEL, ZONE_LABEL } from '../proxyconfig/locality.js';
import { applyConfigDelta, keyedChangeJson } from '../push/config-delta.js';
import type { ConfigDelta } from '../push/config-delta.js';
import { acceptMergedConfig, acceptProxyConfig } from './config/compiled-config.js';
import type { CompiledProxyConfig } from './config/compiled-config.js';
import { proxyConfig } from './config/proxy-config.fixture.js';
import { EndpointRegistry } from './balance/endpoint-registry.js';
import { FakeClock } from './balance/fake-clock.fixture.js';
import { DnsTable } from './dns/dns-table.js';
import { installConfig } from './proxy-runtime.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { swapConfig } from './swap-config.js';
import type { ServedNames } from './swap-config.js';
import { EndpointPools } from './upstream/endpoint-pools.js';
import { H2SessionPools } from './http2/h2-session-pool.js';
import { clusterTargets, targetKey } from './upstream/upstream-target.js';
import type { UpstreamTarget } from './upstream/upstream-target.js';
import { fuzzRuns } from '../../test/support/fuzz.js';

const NAMES = ['a', 'b', 'c', 'd'] as const;
const hostOf = (name: string): string => `${name}.shop.svc.cluster.local`;

const OUTLIER = { consecutive5xx: 1, consecutiveGatewayErrors: 0, consecutiveLocalOriginFailures: 5, splitExternalLocalOriginErrors: false, intervalMs: 1000, baseEjectionTimeMs: 3000, maxEjectionTimeMs: 300_000, maxEjectionPercent: 100, minHealthPercent: 0 };
const TLS = { sni: null, subjectAltNames: [], caCertificates: null, clientCertificate: null, privateKey: null, credentialName: null, insecureSkipVerify: false };

const rule = fc.record({
  subset: fc.subarray([1, 2, 3, 4]),
  tls: fc.constantFrom(null, 'DISABLE' as const, 'ISTIO_MUTUAL' as const),
  lb: fc.constantFrom('ROUND_ROBIN' as const, 'RANDOM' as const),
  outlier: fc.boolean(),
});

const service = fc.record({
  ports: fc.subarray([80, 81], { minLength: 1 }),
  endpoints: fc.subarray([1, 2, 3, 4]),
  mtls: fc.boolean(),
  far: fc.boolean(),
  rule: fc.option(rule, { nil: undefined }),
  alias: fc.boolean(),
  vip: fc.option(fc.constantFrom(1, 2), { nil: undefined }),
});
type ServiceShape = typeof service extends fc.Arbitrary<infer S> ? S : never;

/** What a push does to each service: most stay as they were, some are removed, some are (re)made. */
const serviceChange = fc.oneof({ arbitrary: fc.constant('keep' as const), weight: 4 }, { arbitrary: fc.constant('remove' as const), weight: 1 }, { arbitrary: service, weight: 2 });

/** One push: the change to each service, the proxy's labels, and whether it travels whole. */
const push = fc.record({
  services: fc.record(Object.fromEntries(NAMES.map((n) => [n, serviceChange])) as Record<(typeof NAMES)[number], typeof serviceChange>),
  located: fc.boolean(),
  whole: fc.boolean(),
});
type Push = typeof push extends fc.Arbitrary<infer P> ? P : never;
type Mesh = Partial<Record<(typeof NAMES)[number], ServiceShape>>;

function policy(r: NonNullable<ServiceShape['rule']>): TrafficPolicyConfig {
  return { ...DEFAULT_TRAFFIC_POLICY, loadBalancer: { policy: r.lb }, outlierDetection: r.outlier ? OUTLIER : null, tls: r.tls === null ? null : { mode: r.tls, ...TLS } };
}

function outboundService(name: string, s: ServiceShape): OutboundService {
  const host = hostOf(name);
  const endpoints = s.endpoints.map((i) => ({
    address: `10.0.0.${i}`,
    inboundPort: 15006,
    targetPort: 8080,
    spiffeId: `spiffe://cluster.local/ns/shop/sa/${name}`,
    mtls: s.mtls,
    workload: `shop/${name}-${i}`,
    // Half the endpoints in the proxy's zone, half in another: placement has priorities when the proxy is located.
    locality: s.far && i % 2 === 0 ? 'r1/z2' : 'r1/z1',
  }));
  return {
    host,
    namespace: 'shop',
    aliases: s.alias ? [name, `${name}.alt`] : [name],
    addresses: s.vip === undefined ? [] : [`10.96.0.${s.vip}`],
    ports: s.ports.map((port) => {
      const r = s.rule;
      const cluster = (subset: string | null): ClusterConfig => ({ name: `outbound|${port}|${subset ?? ''}|${host}`, host, port, subset, labels: subset === null ? {} : { version: subset }, destinationRules: ['shop/dr'], policy: policy(r!) });
      return {
        port,
        name: `http-${port}`,
        protocol: 'http' as const,
        endpoints,
        ...(r !== undefined && {
          clusters: [
            { ...cluster(null), endpoints: endpoints.map((e) => e.address) },
            { ...cluster('v1'), endpoints: r.subset.map((i) => `10.0.0.${i}`) },
          ],
        }),
      };
    }),
  };
}

/** The services after a push's changes. */
function meshAfter(mesh: Mesh, p: Push): Mesh {
  const out: Mesh = {};
  for (const n of NAMES) {
    const change = p.services[n];
    const shape = change === 'keep' ? mesh[n] : change === 'remove' ? undefined : change;
    if (shape !== undefined) out[n] = shape;
  }
  return out;
}

function configOf(mesh: Mesh, located: boolean, version: string): ProxyConfig {
  const base = proxyConfig(version, NAMES.flatMap((n) => (mesh[n] === undefined ? [] : [outboundService(n, mesh[n])])));
  return { ...base, proxy: { ...base.proxy, labels: located ? { app: 'web', [REGION_LABEL]: 'r1', [ZONE_LABEL]: 'z1' } : { app: 'web' } } };
}

/** The delta the control plane writes from `before` to `after` (services by host, the proxy section whole), as off the wire. */
function deltaOf(before: ProxyConfig, after: ProxyConfig): ConfigDelta {
  const keyed = (c: ProxyConfig) => c.outbound.services.map((s) => ({ key: s.host, json: JSON.stringify(s) }));
  const services = keyedChangeJson(keyed(before), keyed(after));
  const proxyChanged = JSON.stringify(before.proxy) !== JSON.stringify(after.proxy);
  return JSON.parse(
    JSON.stringify({
      type: 'config-delta',
      base: before.version,
      version: after.version,
      ...(proxyChanged && { sections: { proxy: after.proxy } }),
      ...(services !== undefined && { outbound: { services: JSON.parse(services) as unknown } }),
    }),
  ) as ConfigDelta;
}

/** A registry that records the clusters each push hands it. */
class RecordingRegistry extends EndpointRegistry {
  handed: string[] = [];
  override apply(joined: Parameters<EndpointRegistry['apply']>[0], left?: readonly string[]): void {
    this.handed.push(...joined.map((c) => c.config.name), ...(left ?? []));
    super.apply(joined, left);
  }
}

/** What the registry holds: each cluster's hosts, in order, and its priorities' loads. */
function registryView(r: EndpointRegistry): unknown {
  return [...r.all()].map((c) => [c.name, c.hosts.map((h) => h.address), c.priorityLoads() ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

function targetsOf(cfg: CompiledProxyConfig): Map<string, UpstreamTarget> {
  const all = [...cfg.byHost.values()].flatMap((s) => [...s.ports.values()].flatMap((p) => [...p.clusters.values()]));
  return new Map([...clusterTargets(all)].map((t) => [targetKey(t), t] as const));
}

/** What a DNS table is made of, as text: equal texts, equal tables. */
const namesOf = (c: ProxyConfig): string => JSON.stringify([c.outbound.services.map((s) => [s.host, s.aliases, s.addresses[0] ?? null]), c.outbound.externals.map((e) => e.dns)]);

const DNS_NAMES = NAMES.flatMap((n) => [n, `${n}.alt`, hostOf(n)]);

describe('swapConfig over sequences of pushes', () => {
  test('the runtime ends as a swap of the whole would leave it, and keeps what stayed', async () => {
    let deltas = 0;
    let kept = 0;
    let untouched = 0;
    let relabelled = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(push, { minLength: 2, maxLength: 6 }), async (pushes) => {
        const clock = new FakeClock();
        const registry = new RecordingRegistry(clock);
        const rt: Pick<ProxyRuntime, 'config' | 'endpoints' | 'pools' | 'h2Pools'> = { config: undefined, endpoints: registry, pools: new EndpointPools(undefined), h2Pools: new H2SessionPools(undefined) };
        const names: ServedNames = { table: undefined };
        const app: UpstreamTarget = { address: '127.0.0.1', port: 8080 };
        try {
          let mesh: Mesh = {};
          // The config last sent, as the control plane keeps it: deltas are written between its own texts.
          let sent: ProxyConfig | undefined;
          for (const [i, p] of pushes.entries()) {
            mesh = meshAfter(mesh, p);
            const raw = configOf(mesh, p.located, `v${i + 1}`);
            const previous = rt.config;
            const next = previous === undefined || p.whole ? acceptProxyConfig(raw) : acceptMergedConfig(applyConfigDelta(previous.raw, deltaOf(sent!, raw)), previous);
            sent = raw;
            if (previous !== undefined && !p.whole) deltas++;
            // Services the compile kept, the very objects: the runtime must not be handed them.
            const same = [...next.byHost].filter(([h, svc]) => previous?.byHost.get(h) === svc);
            untouched += same.length;
            if (same.length > 0 && previous?.raw.proxy.labels[REGION_LABEL] !== next.raw.proxy.labels[REGION_LABEL]) relabelled++;
            // Before the push: a pool for every listed endpoint and one for the app, and the state of every host.
            const poolsBefore = [...(previous === undefined ? [] : targetsOf(previous))].map(([key, t]) => ({ key, t, pool: rt.pools.get(t), h2: rt.h2Pools.get(t) }));
            const appPool = rt.pools.get(app);
            const appH2 = rt.h2Pools.get(app);
            const hostsBefore = new Map([...rt.endpoints.all()].flatMap((c) => c.hosts.map((h) => [`${c.name} ${h.address}`, h] as const)));
            const clustersBefore = new Map([...rt.endpoints.all()].map((c) => [c.name, c] as const));
            const tableBefore = names.table;

            registry.handed = [];
            swapConfig(rt, next, names);
            // What a push did not change is not handed to the registry (unless the proxy's labels changed: placement).
            if (previous?.raw.proxy === next.raw.proxy) for (const [h] of same) assert.ok(!registry.handed.some((n) => n.endsWith(`|${h}`)), `${h} was handed over unchanged`);

            const fresh = new EndpointRegistry(clock);
            installConfig({ config: undefined, endpoints: fresh }, next);
            assert.deepEqual(registryView(rt.endpoints), registryView(fresh));
            fresh.close();
            for (const c of rt.endpoints.all()) {
              const was = clustersBefore.get(c.name);
              if (was !== undefined) assert.equal(c, was, `${c.name} kept its runtime`);
              for (const h of c.hosts) {
                const old = hostsBefore.get(`${c.name} ${h.address}`);
                if (old !== undefined) assert.equal(h, old, `${c.name} ${h.address} kept its state`);
              }
            }
            const live = targetsOf(next);
            for (const { key, t, pool, h2 } of poolsBefore) {
              assert.equal(rt.pools.get(t) === pool, live.has(key), `pool of ${key}`);
              assert.equal(rt.h2Pools.get(t) === h2, live.has(key), `HTTP/2 sessions of ${key}`);
              if (live.has(key)) kept++;
            }
            // Not listed by any cluster: closed at the push, as before.
            assert.notEqual(rt.pools.get(app), appPool);
            assert.notEqual(rt.h2Pools.get(app), appH2);
            const table = new DnsTable(next.raw.outbound);
            assert.deepEqual(DNS_NAMES.map((n) => names.table?.address(n)), DNS_NAMES.map((n) => table.address(n)));
            if (previous !== undefined && namesOf(previous.raw) === namesOf(next.raw)) assert.equal(names.table, tableBefore, 'no name changed: the same table');
          }
        } finally {
          rt.endpoints.close();
          await rt.pools.close();
        }
      }),
      fuzzRuns(300),
    );
    // The property says something only if deltas kept services and pools, some while the proxy's locality changed.
    assert.ok(deltas > 100 && kept > 100 && untouched > 100 && relabelled > 20, `deltas ${deltas}, pools kept ${kept}, services kept ${untouched}, relabelled ${relabelled}`);
  });
});
