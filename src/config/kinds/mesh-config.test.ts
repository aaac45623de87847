import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshConfigWithDefaults } from './mesh-config.js';
import { isWeftError } from '../../errors.js';

test('no MeshConfig at all gives Istio-like defaults', () => {
  assert.deepEqual(meshConfigWithDefaults(undefined), {
    trustDomain: 'cluster.local',
    trustDomainAliases: [],
    rootNamespace: 'weft-system',
    certificateTtlMs: 86_400_000,
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    pathNormalization: { normalization: 'BASE' },
    extensionProviders: [],
    gatewayTopology: { numTrustedProxies: 0 },
    podRange: undefined,
    grpcMaxMessageBytes: undefined,
    tracingProviders: [],
    accessLog: { encoding: 'JSON', format: '' },
    tracing: { enabled: true, providers: [], sampling: 1 },
    // Istio's built-in providers, and its installation's default metrics provider.
    telemetryProviders: [
      { name: 'prometheus', kind: 'prometheus' },
      { name: 'envoy', kind: 'envoyFileAccessLog' },
    ],
    defaultMetricsProviders: ['prometheus'],
    defaultAccessLogProviders: [],
  });
});

test('trustDomainAliases and defaultConfig.gatewayTopology.numTrustedProxies (Istio MeshConfig / ProxyConfig names)', () => {
  const s = meshConfigWithDefaults({ trustDomain: 'new-td', trustDomainAliases: ['old-td', 'cluster.local'], defaultConfig: { gatewayTopology: { numTrustedProxies: 2 } } });
  assert.deepEqual([s.trustDomain, s.trustDomainAliases, s.gatewayTopology], ['new-td', ['old-td', 'cluster.local'], { numTrustedProxies: 2 }]);
});

test('podRange is kept as written', () => {
  assert.equal(meshConfigWithDefaults({ podRange: '198.19.0.0/16' }).podRange, '198.19.0.0/16');
});

const ttls: [string, number][] = [
  ['24h', 86_400_000],
  ['30m', 1_800_000],
  ['90s', 90_000],
  ['1.5h', 5_400_000],
  ['1s', 1000],
];
for (const [ttl, ms] of ttls) {
  test(`certificateTTL ${ttl} is ${ms}ms`, () => {
    assert.equal(meshConfigWithDefaults({ certificateTTL: ttl }).certificateTtlMs, ms);
  });
}

test('partial nested settings are filled in', () => {
  const s = meshConfigWithDefaults({
    trustDomain: 'example.org',
    extensionProviders: [{ name: 'authz', envoyExtAuthzHttp: { service: 'authz.foo.svc.cluster.local', port: 8000, timeout: '250ms' } }],
  });
  assert.equal(s.trustDomain, 'example.org');
  assert.deepEqual(s.extensionProviders[0]?.envoyExtAuthzHttp, {
    service: 'authz.foo.svc.cluster.local',
    port: 8000,
    timeoutMs: 250,
    pathPrefix: '',
    failOpen: false,
    clearRouteCache: false,
    statusOnError: 403,
    includeRequestHeadersInCheck: [],
    includeAdditionalHeadersInCheck: {},
    includeRequestBodyInCheck: undefined,
    headersToUpstreamOnAllow: [],
    headersToDownstreamOnDeny: [],
    headersToDownstreamOnAllow: [],
  });
});

const invalid: [string, Record<string, unknown>][] = [
  ['TTL under a second', { certificateTTL: '999ms' }],
  ['TTL not a duration', { certificateTTL: '1 day' }],
  ['trust domain with a slash', { trustDomain: 'a/b' }],
  ['unknown outbound mode', { outboundTrafficPolicy: { mode: 'ALLOW_ALL' } }],
  ['unknown field', { trustdomain: 'x' }],
  ['trust domain alias with a slash', { trustDomainAliases: ['old/td'] }],
  ['empty trust domain alias', { trustDomainAliases: [''] }],
  ['negative numTrustedProxies', { defaultConfig: { gatewayTopology: { numTrustedProxies: -1 } } }],
  ['fractional numTrustedProxies', { defaultConfig: { gatewayTopology: { numTrustedProxies: 1.5 } } }],
  ['gatewayTopology field weft does not implement', { defaultConfig: { gatewayTopology: { forwardClientCertDetails: 'SANITIZE' } } }],
  ['podRange not a CIDR', { podRange: '198.18.0.0' }],
  ['podRange IPv6', { podRange: 'fd00::/64' }],
];
for (const [name, spec] of invalid) {
  test(`invalid: ${name}`, () => {
    assert.throws(() => meshConfigWithDefaults(spec as never), (err) => isWeftError(err, 'CONFIG_INVALID'));
  });
}

test('grpcMaxMessageBytes: kept as written, a positive 32-bit size', () => {
  assert.equal(meshConfigWithDefaults({ grpcMaxMessageBytes: 8 * 1024 * 1024 }).grpcMaxMessageBytes, 8 * 1024 * 1024);
  for (const bad of [0, -1, 1.5, 2 ** 32]) assert.throws(() => meshConfigWithDefaults({ grpcMaxMessageBytes: bad }), /grpcMaxMessageBytes/);
});
