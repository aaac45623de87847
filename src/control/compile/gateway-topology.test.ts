/**
 * numTrustedProxies for one gateway: Istio's `proxy.istio.io/config` annotation form (network-topologies page:
 * '{"gatewayTopology" : { "numTrustedProxies": <VALUE> } }') on a Gateway that selects it, else MeshConfig
 * defaultConfig.gatewayTopology, else 0.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { buildSnapshot } from './snapshot.js';
import { annotatedNumTrustedProxies, gatewayNumTrustedProxies } from './gateway-topology.js';
import { compileProxyConfig } from './index.js';

const INGRESS = { istio: 'ingressgateway' };

function gateway(name: string, created: string, annotations: Record<string, string>, selector: Record<string, string> = INGRESS): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { namespace: 'weft-system', name, labels: {}, annotations, creationTimestamp: created } as Resource['metadata'],
    spec: { selector, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] },
  };
}
const annotated = (value: string): Record<string, string> => ({ 'proxy.istio.io/config': value });

describe('the proxy.istio.io/config annotation', () => {
  const rows: Array<[string, string | undefined, number | undefined]> = [
    ['Istio\'s JSON form', '{"gatewayTopology" : { "numTrustedProxies": 2 } }', 2],
    ['YAML', 'gatewayTopology:\n  numTrustedProxies: 1\n', 1],
    ['other ProxyConfig fields are not the gateway\'s concern', '{"holdApplicationUntilProxyStarts": true, "gatewayTopology": {"numTrustedProxies": 3}}', 3],
    ['no gatewayTopology', '{"concurrency": 2}', undefined],
    ['no annotation', undefined, undefined],
    ['not JSON or YAML', '{"gatewayTopology": ', undefined],
    ['a negative count', '{"gatewayTopology": {"numTrustedProxies": -1}}', undefined],
    ['a field weft does not implement', '{"gatewayTopology": {"numTrustedProxies": 1, "proxyProtocol": {}}}', undefined],
  ];
  for (const [name, value, want] of rows) test(name, () => assert.equal(annotatedNumTrustedProxies(value), want));
});

describe('gatewayNumTrustedProxies', () => {
  const mesh = meshConfigWithDefaults({ defaultConfig: { gatewayTopology: { numTrustedProxies: 1 } } });
  const of = (resources: Resource[], boot = mesh): number => gatewayNumTrustedProxies(buildSnapshot(resources, 1, boot), INGRESS);
  test('unset everywhere: 0', () => assert.equal(of([], meshConfigWithDefaults(undefined)), 0));
  test('MeshConfig defaultConfig applies to every gateway', () => assert.equal(of([gateway('a', '2024-01-01T00:00:00Z', {})]), 1));
  test('a Gateway selecting it overrides the mesh default', () => assert.equal(of([gateway('a', '2024-01-01T00:00:00Z', annotated('{"gatewayTopology":{"numTrustedProxies":2}}'))]), 2));
  test('the annotation may set 0 against a mesh default', () => assert.equal(of([gateway('a', '2024-01-01T00:00:00Z', annotated('{"gatewayTopology":{"numTrustedProxies":0}}'))]), 0));
  test('a Gateway selecting other proxies does not count', () =>
    assert.equal(of([gateway('a', '2024-01-01T00:00:00Z', annotated('{"gatewayTopology":{"numTrustedProxies":5}}'), { istio: 'egressgateway' })]), 1));
  test('several Gateways: the oldest one that sets it', () =>
    assert.equal(
      of([
        gateway('new', '2024-03-01T00:00:00Z', annotated('{"gatewayTopology":{"numTrustedProxies":4}}')),
        gateway('old', '2024-01-01T00:00:00Z', annotated('{"gatewayTopology":{"numTrustedProxies":3}}')),
        gateway('oldest', '2023-01-01T00:00:00Z', {}),
      ]),
      3,
    ));
});

describe('what reaches the gateway proxy', () => {
  const meshConfig = (spec: unknown): Resource => ({
    apiVersion: 'weft.dev/v1alpha1',
    kind: 'MeshConfig',
    metadata: { namespace: 'weft-system', name: 'mesh', labels: {}, annotations: {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'],
    spec,
  });
  const compileGatewayProxy = (resources: Resource[]) =>
    compileProxyConfig(buildSnapshot(resources, 1, meshConfigWithDefaults({ trustDomain: 'new-td' })), {
      role: 'gateway',
      namespace: 'weft-system',
      name: 'weft-ingressgateway',
      serviceAccount: 'weft-ingressgateway',
      labels: INGRESS,
    });
  test('numTrustedProxies and trustDomainAliases from MeshConfig', () => {
    const cfg = compileGatewayProxy([meshConfig({ trustDomainAliases: ['old-td'], defaultConfig: { gatewayTopology: { numTrustedProxies: 2 } } }), gateway('a', '2024-01-01T00:00:00Z', {})]);
    assert.deepEqual([cfg.gateway?.numTrustedProxies, cfg.security.trustDomainAliases, cfg.trustDomain], [2, ['old-td'], 'new-td']);
  });
  test('neither set: both absent, the config as it was before they existed', () => {
    const cfg = compileGatewayProxy([gateway('a', '2024-01-01T00:00:00Z', {})]);
    assert.deepEqual(['numTrustedProxies' in (cfg.gateway ?? {}), 'trustDomainAliases' in cfg.security, 'grpcMaxMessageBytes' in cfg.security], [false, false, false]);
  });
  test('grpcMaxMessageBytes from MeshConfig reaches the proxy (its security section, pushed whole when it changes)', () => {
    const cfg = compileGatewayProxy([meshConfig({ grpcMaxMessageBytes: 1048576 }), gateway('a', '2024-01-01T00:00:00Z', {})]);
    assert.equal(cfg.security.grpcMaxMessageBytes, 1048576);
  });
});
