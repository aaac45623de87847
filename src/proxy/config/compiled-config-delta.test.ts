/**
 * A config merged from a delta is compiled at the cost of what changed (acceptMergedConfig): the parts whose
 * sections it holds unchanged are kept, the others compiled again, and the result must be what compiling the
 * merged whole gives. References across sections (a route to a service the delta removes, policies read with the
 * proxy's identity and trust domain) are cases of their own.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { applyConfigDelta } from '../../push/config-delta.js';
import type { ConfigDelta } from '../../push/config-delta.js';
import { acceptMergedConfig, acceptProxyConfig } from './compiled-config.js';
import type { CompiledProxyConfig } from './compiled-config.js';
import { clusterChanges } from './cluster-changes.js';
import { outboundService, proxyConfig, routedTo } from './proxy-config.fixture.js';

const host = (name: string) => `${name}.shop.svc.cluster.local`;
/** As off the wire: the delta's objects are its own. */
const delta = (d: Omit<ConfigDelta, 'type' | 'base' | 'version'>): ConfigDelta => JSON.parse(JSON.stringify({ type: 'config-delta', base: 'v1', version: 'v2', ...d })) as ConfigDelta;

/** `delta` applied to `previous` section by section, and the same merged config compiled whole. */
function both(previous: CompiledProxyConfig, d: ConfigDelta): { next: CompiledProxyConfig; whole: CompiledProxyConfig } {
  const merged = applyConfigDelta(previous.raw, d);
  return { next: acceptMergedConfig(merged, previous), whole: acceptProxyConfig(JSON.parse(JSON.stringify(merged))) };
}

/** What a request can see of a compiled config, comparable between two compilations. */
function view(c: CompiledProxyConfig): unknown {
  return {
    services: [...c.byHost].map(([h, s]) => [
      h,
      s.addresses,
      [...s.ports].map(([p, bp]) => [p, bp.protocol, bp.sni, bp.routes?.map((r) => r.route) ?? null, [...bp.clusters].map(([k, cb]) => [k, cb.config, [...cb.endpoints.keys()], cb.sni])]),
    ]),
    aliases: [...c.byAlias].map(([a, s]) => [a, s.host]),
    addresses: [...c.byAddress].map(([a, s]) => [a, s.host]),
    passthrough: [...c.byPassthroughEndpoint].map(([k, bp]) => [k, bp.host, bp.port]),
    routed: [...c.routedExternals.keys()],
    egress: [...c.egressGatewayHosts],
    trafficPolicy: c.trafficPolicy,
    grpc: c.grpcMaxMessageBytes,
    inbound: c.inbound === null ? null : { ...c.inbound, rateLimits: undefined },
    gateways: [...c.gatewayServers].map(([p, vhs]) => [p, vhs.map((v) => v.domains)]),
    clusters: c.clusterEndpoints(clusterChanges(undefined, c).joined),
    externals: ['api.example.com', 'cdn.example.com', 'mail.example.com'].map((h) => c.externals.tls(h, 443) === undefined ? null : h),
    authz: PRINCIPALS.map((p) => decision(c, p)),
  };
}

const PRINCIPALS = ['cluster.local/ns/shop/sa/cart', 'example.org/ns/shop/sa/cart', 'cluster.local/ns/shop/sa/ratings'];
function decision(c: CompiledProxyConfig, principal: string): string {
  const req = { connection: { sourceIp: '10.0.0.9', destinationIp: '10.0.0.1', destinationPort: 8080, sourcePrincipal: principal }, http: { method: 'GET', host: 'web', path: '/', headers: {} } };
  return c.security.authz?.evaluate(req).decision ?? 'no policy';
}

const v1 = (config: ProxyConfig = proxyConfig('v1')): CompiledProxyConfig => acceptProxyConfig(config);

describe('acceptMergedConfig', () => {
  test('a changed service is compiled again; the others and every other section are kept, the same objects', () => {
    const previous = v1();
    const { next, whole } = both(previous, delta({ outbound: { services: { set: [outboundService('ratings', [80, 9090])] } } }));
    assert.deepEqual(view(next), view(whole));
    assert.equal(next.byHost.get(host('web')), previous.byHost.get(host('web')));
    assert.equal(next.byHost.get(host('cart')), previous.byHost.get(host('cart')));
    assert.notEqual(next.byHost.get(host('ratings')), previous.byHost.get(host('ratings')));
    assert.deepEqual([...next.byHost.get(host('ratings'))!.ports.keys()], [80, 9090]);
    assert.equal(next.security, previous.security);
    assert.equal(next.externals, previous.externals);
    assert.equal(next.inbound, previous.inbound);
    assert.equal(next.routedExternals, previous.routedExternals);
    assert.equal(next.egressGatewayHosts, previous.egressGatewayHosts);
    assert.equal(next.gatewayServers, previous.gatewayServers);
  });

  test("a push of another service keeps a kept port's round-robin position", () => {
    const twoEndpoints = outboundService('web');
    twoEndpoints.ports[0]!.endpoints.push({ ...twoEndpoints.ports[0]!.endpoints[0]!, address: '10.0.1.2' });
    const previous = v1(proxyConfig('v1', [twoEndpoints, outboundService('ratings')]));
    assert.equal(previous.byHost.get(host('web'))!.ports.get(80)!.pick()?.address, '10.0.0.80');
    const { next } = both(previous, delta({ outbound: { services: { set: [outboundService('ratings', [81])] } } }));
    assert.equal(next.byHost.get(host('web'))!.ports.get(80)!.pick()?.address, '10.0.1.2');
  });

  test('a delta that removes a service a route sends to is accepted as the whole would be: the route stays, the cluster is gone', () => {
    const previous = v1();
    const { next, whole } = both(previous, delta({ outbound: { services: { remove: [host('ratings')], order: [host('web'), host('cart')] } } }));
    assert.deepEqual(view(next), view(whole));
    assert.deepEqual(next.byHost.get(host('cart'))!.ports.get(80)!.routes![0]!.route.destinations.map((d) => d.host), [host('cart'), host('ratings')]);
    assert.equal(next.cluster(host('ratings'), 80, undefined), undefined);
    assert.equal(next.byHost.get(host('cart')), previous.byHost.get(host('cart')));
  });

  test('a delta that adds the service a kept route names makes its cluster', () => {
    const previous = v1(proxyConfig('v1', [outboundService('web'), routedTo('reviews')]));
    assert.equal(previous.cluster(host('reviews'), 80, undefined), undefined);
    const { next, whole } = both(previous, delta({ outbound: { services: { set: [outboundService('reviews')], order: [host('web'), host('cart'), host('reviews')] } } }));
    assert.deepEqual(view(next), view(whole));
    assert.ok(next.cluster(host('reviews'), 80, undefined));
  });

  test('the trust domain alone changed: the policies are compiled again with it', () => {
    const previous = v1();
    const { next, whole } = both(previous, delta({ sections: { trustDomain: 'example.org' } }));
    assert.deepEqual(view(next), view(whole));
    assert.notEqual(next.security, previous.security);
    assert.notDeepEqual(view(next), view(previous));
  });

  test("the proxy's labels alone changed: a policy that no longer selects it stops applying", () => {
    const previous = v1();
    const { next, whole } = both(previous, delta({ sections: { proxy: { ...previous.raw.proxy, labels: { app: 'other' } } } }));
    assert.deepEqual(view(next), view(whole));
    assert.deepEqual(PRINCIPALS.map((p) => decision(previous, p)), ['ALLOW', 'DENY', 'DENY']);
    assert.notDeepEqual(PRINCIPALS.map((p) => decision(next, p)), ['ALLOW', 'DENY', 'DENY']);
  });

  test('an external removed while the mesh-bound routes still name its host is accepted as the whole would be', () => {
    const previous = v1();
    const { next, whole } = both(previous, delta({ outbound: { externals: { remove: ['shop/api'], order: ['shop/cdn'] } } }));
    assert.deepEqual(view(next), view(whole));
    assert.notEqual(next.externals, previous.externals);
    assert.equal(next.routedExternals, previous.routedExternals);
  });

  test('inbound, gateway, egress hosts and traffic policy changed: each compiled again as the whole would be', () => {
    const previous = v1();
    const { next, whole } = both(
      previous,
      delta({
        sections: { inbound: { ...previous.raw.inbound!, defaultMode: 'PERMISSIVE' }, gateway: { servers: [{ port: 8080, name: 'http', protocol: 'HTTP', virtualHosts: [{ gateway: 'shop/gw', domains: ['*'], routes: [] }] }] } },
        outbound: { trafficPolicy: 'ALLOW_ANY', egressGatewayHosts: null, externalRoutes: null },
      }),
    );
    assert.deepEqual(view(next), view(whole));
    assert.notDeepEqual(view(next), view(previous));
  });

  test('a changed service that cannot be compiled is refused with the reason the whole config gets', () => {
    const previous = v1();
    const bad = routedTo('ratings');
    bad.ports[0]!.http![0]!.match = [{ uri: { regex: '(?<=a)b' } }];
    const d = delta({ outbound: { services: { set: [bad] } } });
    const merged = applyConfigDelta(previous.raw, d);
    const reason = (f: () => unknown): string => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return `${(err as { code?: string }).code}: ${(err as Error).message}`;
      }
    };
    assert.match(reason(() => acceptMergedConfig(merged, previous)), /^PROXY_CONFIG_REJECTED: cannot compile config/);
    assert.equal(reason(() => acceptMergedConfig(merged, previous)), reason(() => acceptProxyConfig(JSON.parse(JSON.stringify(merged)))));
  });

  test('a changed security section with a broken inline JWKS is refused with the reason the whole config gets', () => {
    const previous = v1();
    const d = delta({ sections: { security: { ...previous.raw.security, jwtRules: [{ issuer: 'https://issuer.example', jwks: '{not json' }] } } });
    const merged = applyConfigDelta(previous.raw, d);
    assert.throws(() => acceptMergedConfig(merged, previous), { message: /security.jwtRules\[0\].jwks is not valid JSON/ });
    assert.throws(() => acceptProxyConfig(JSON.parse(JSON.stringify(merged))), { message: /security.jwtRules\[0\].jwks is not valid JSON/ });
  });
});
