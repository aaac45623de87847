/**
 * Deltas between two compiles of one proxy's config, for the changes Istio users make most: a service added,
 * changed or removed, a route, a DestinationRule, an authorization policy. Each delta, merged into the old config
 * the way the proxy merges it, gives exactly the new config; and it carries only what changed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../config/resource.js';
import { ProxyConfigSchema } from '../proxyconfig/types.js';
import { applyConfigDelta, parseConfigDelta } from '../push/config-delta.js';
import type { ConfigDelta } from '../push/config-delta.js';
import { compileProxyConfigParts } from './compile/index.js';
import type { CompiledProxyConfig } from './compile/index.js';
import { service, snapshot, workload } from './compile/outbound.fixture.js';
import { configDeltaParts } from './push-delta.js';
import type { DeltaPart } from './push-delta.js';

function istio(kind: string, namespace: string, name: string, spec: unknown): Resource {
  const apiVersion = kind === 'AuthorizationPolicy' ? 'security.istio.io/v1' : 'networking.istio.io/v1';
  return { apiVersion, kind, metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'], spec };
}

const BASE: Resource[] = [
  service('shop', 'productpage', [9080]),
  service('shop', 'reviews', [9080]),
  service('shop', 'ratings', [9080]),
  workload('shop', 'productpage'),
  workload('shop', 'reviews'),
  workload('shop', 'ratings'),
];
const DETAILS = [service('shop', 'details', [9080]), workload('shop', 'details')];
const reviewsRoute = (timeout: string): Resource =>
  istio('VirtualService', 'shop', 'reviews', { hosts: ['reviews'], http: [{ timeout, route: [{ destination: { host: 'reviews' } }] }] });
const ratingsRule = (simple: string): Resource => istio('DestinationRule', 'shop', 'ratings', { host: 'ratings', trafficPolicy: { loadBalancer: { simple } } });
const allowFrom = (principal: string): Resource =>
  istio('AuthorizationPolicy', 'shop', 'productpage', { selector: { matchLabels: { app: 'productpage' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: [principal] } }] }] });

const host = (name: string): string => `${name}.shop.svc.cluster.local`;

function compile(resources: Resource[]): CompiledProxyConfig {
  return compileProxyConfigParts(snapshot(resources), { role: 'sidecar', namespace: 'shop', name: 'productpage', serviceAccount: 'productpage' });
}

function text(parts: readonly DeltaPart[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : p.json)).join('');
}

interface Case {
  name: string;
  before: Resource[];
  after: Resource[];
  /** What the delta must carry, and nothing else. */
  want: (d: ConfigDelta) => void;
}

const servicesSet = (d: ConfigDelta): string[] => (d.outbound?.services?.set ?? []).map((s) => (s as { host: string }).host);

const CASES: Case[] = [
  {
    name: 'a service and its workload added: the service, the new order, and telemetry (which names every workload)',
    before: BASE,
    after: [...BASE, ...DETAILS],
    want: (d) => {
      assert.deepEqual(servicesSet(d), [host('details')]);
      assert.equal(d.outbound?.services?.remove, undefined);
      assert.ok(d.outbound?.services?.order?.includes(host('details')));
      assert.deepEqual(Object.keys(d.sections ?? {}), ['telemetry']);
    },
  },
  {
    name: 'a service changed (a port added): only it, no order',
    before: BASE,
    after: BASE.map((r) => (r.kind === 'Service' && r.metadata.name === 'reviews' ? service('shop', 'reviews', [9080, 9091]) : r)),
    want: (d) => {
      assert.deepEqual(servicesSet(d), [host('reviews')]);
      assert.equal(d.outbound?.services?.order, undefined);
      assert.equal(d.sections, undefined);
    },
  },
  {
    name: 'a service removed: its key, and the new order',
    before: [...BASE, ...DETAILS],
    after: BASE,
    want: (d) => {
      assert.deepEqual(servicesSet(d), []);
      assert.deepEqual(d.outbound?.services?.remove, [host('details')]);
      assert.equal(d.outbound?.services?.order?.includes(host('details')), false);
    },
  },
  {
    name: 'a route added to one service: that service only',
    before: BASE,
    after: [...BASE, reviewsRoute('2s')],
    want: (d) => assert.deepEqual(servicesSet(d), [host('reviews')]),
  },
  {
    name: 'a route changed: that service only',
    before: [...BASE, reviewsRoute('2s')],
    after: [...BASE, reviewsRoute('5s')],
    want: (d) => assert.deepEqual(servicesSet(d), [host('reviews')]),
  },
  {
    name: 'a DestinationRule changed: the service it is for only',
    before: [...BASE, ratingsRule('ROUND_ROBIN')],
    after: [...BASE, ratingsRule('LEAST_REQUEST')],
    want: (d) => assert.deepEqual(servicesSet(d), [host('ratings')]),
  },
  {
    name: 'an authorization policy added: the security section only',
    before: BASE,
    after: [...BASE, allowFrom('cluster.local/ns/shop/sa/reviews')],
    want: (d) => {
      assert.deepEqual(Object.keys(d.sections ?? {}), ['security']);
      assert.equal(d.outbound, undefined);
    },
  },
  {
    name: 'an authorization policy removed: the security section only',
    before: [...BASE, allowFrom('cluster.local/ns/shop/sa/reviews')],
    after: BASE,
    want: (d) => {
      assert.deepEqual(Object.keys(d.sections ?? {}), ['security']);
      assert.equal(d.outbound, undefined);
    },
  },
  {
    name: "a service behind this proxy's own workload changed: the inbound side too",
    before: BASE,
    after: BASE.map((r) => (r.kind === 'Service' && r.metadata.name === 'productpage' ? service('shop', 'productpage', [9080, 9443]) : r)),
    want: (d) => {
      assert.deepEqual(Object.keys(d.sections ?? {}), ['schema', 'proxy', 'trustDomain', 'inbound']);
      assert.deepEqual(servicesSet(d), [host('productpage')]);
    },
  },
];

describe('config deltas', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const from = compile(c.before);
      const to = compile(c.after);
      assert.notEqual(from.config.version, to.config.version);
      const delta = parseConfigDelta(JSON.parse(text(configDeltaParts(from, to))));
      assert.equal(delta.base, from.config.version);
      assert.equal(delta.version, to.config.version);
      c.want(delta);
      // The proxy's side: merged into what it holds (as it arrived on the wire), the result is the new config.
      const held: unknown = JSON.parse(JSON.stringify(from.config));
      const merged = applyConfigDelta(held, delta);
      assert.deepEqual(merged, JSON.parse(JSON.stringify(to.config)));
      ProxyConfigSchema.parse(merged);
      assert.deepEqual(held, JSON.parse(JSON.stringify(from.config)), 'the held config is not modified');
    });
  }

  test('a delta is smaller than the config it replaces by about the services it leaves out', () => {
    const many = [...BASE, ...Array.from({ length: 50 }, (_, i) => [service('shop', `s${i}`, [80]), workload('shop', `s${i}`)]).flat()];
    const from = compile(many);
    const to = compile([...many, reviewsRoute('2s')]);
    const delta = text(configDeltaParts(from, to));
    const full = to.jsonParts.map((p) => (typeof p === 'string' ? p : p.json)).join('');
    assert.ok(delta.length * 20 < full.length, `delta ${delta.length} bytes, config ${full.length}`);
  });

  test('proxies moving between the same two shared sections are written the same outbound string', () => {
    const before = snapshot(BASE);
    const after = snapshot([...BASE, reviewsRoute('2s')]);
    const node = (name: string) => ({ role: 'sidecar' as const, namespace: 'shop', name, serviceAccount: name });
    const a = configDeltaParts(compileProxyConfigParts(before, node('reviews')), compileProxyConfigParts(after, node('reviews')));
    const b = configDeltaParts(compileProxyConfigParts(before, node('ratings')), compileProxyConfigParts(after, node('ratings')));
    const outboundOf = (parts: DeltaPart[]) => parts.find((p) => typeof p === 'string' && p.startsWith(',"outbound"'));
    assert.ok(outboundOf(a) !== undefined);
    assert.equal(outboundOf(a), outboundOf(b));
  });
});
