/**
 * Which LocalRateLimitPolicy a workload's sidecar enforces on each port, and in what terms: reach by namespace and
 * selector, precedence among competing policies, callers turned into the mesh's SPIFFE IDs, and nothing at all in
 * the config of a workload no policy reaches (so configs compile to the same bytes as before the kind existed).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LocalRateLimitPolicySpec } from '../../config/kinds/local-rate-limit-policy.js';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { compileLocalRateLimits } from './local-rate-limit.js';
import { buildSnapshot } from './snapshot.js';
import { compileProxyConfig } from './index.js';
import type { Named } from './snapshot.js';

const HTTPBIN = { namespace: 'default', labels: { app: 'httpbin', version: 'v1' } };

function policy(name: string, spec: LocalRateLimitPolicySpec, extra: { namespace?: string; created?: string } = {}): Named<LocalRateLimitPolicySpec> {
  return { namespace: extra.namespace ?? 'default', name, creationTimestamp: extra.created ?? '2026-01-01T00:00:00Z', annotations: {}, spec };
}
const forApp = (app: string): LocalRateLimitPolicySpec['selector'] => ({ matchLabels: { app } });

describe('compileLocalRateLimits: which policy reaches which port', () => {
  const rows: { name: string; policies: Named<LocalRateLimitPolicySpec>[]; want: Array<[string, number | undefined]> | undefined }[] = [
    { name: 'no policy', policies: [], want: undefined },
    { name: 'a selector that matches', policies: [policy('a', { selector: forApp('httpbin'), total: { requestsPerSecond: 5 } })], want: [['default/a', undefined]] },
    { name: 'a selector that does not match', policies: [policy('a', { selector: forApp('sleep'), total: { requestsPerSecond: 5 } })], want: undefined },
    { name: 'no selector: every workload of the namespace', policies: [policy('a', { total: { requestsPerSecond: 5 } })], want: [['default/a', undefined]] },
    { name: 'an empty matchLabels is no selector', policies: [policy('a', { selector: {}, total: { requestsPerSecond: 5 } })], want: [['default/a', undefined]] },
    { name: 'another namespace never reaches', policies: [policy('a', { total: { requestsPerSecond: 5 } }, { namespace: 'weft-system' })], want: undefined },
    {
      name: 'a selector beats a namespace-wide policy, whatever their age',
      policies: [policy('wide', { total: { requestsPerSecond: 5 } }, { created: '2025-01-01T00:00:00Z' }), policy('narrow', { selector: forApp('httpbin'), total: { requestsPerSecond: 9 } })],
      want: [['default/narrow', undefined]],
    },
    {
      name: 'between equals the oldest wins, then the name',
      policies: [
        policy('newer', { selector: forApp('httpbin'), total: { requestsPerSecond: 5 } }, { created: '2026-02-01T00:00:00Z' }),
        policy('b-older', { selector: forApp('httpbin'), total: { requestsPerSecond: 5 } }),
        policy('a-older', { selector: forApp('httpbin'), total: { requestsPerSecond: 5 } }),
      ],
      want: [['default/a-older', undefined]],
    },
    {
      name: 'a policy naming a port governs that port beside a port-less one',
      policies: [policy('all', { selector: forApp('httpbin'), total: { requestsPerSecond: 5 } }), policy('admin', { port: 9090, total: { requestsPerSecond: 1 } })],
      want: [['default/admin', 9090], ['default/all', undefined]],
    },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const got = compileLocalRateLimits(r.policies, 'cluster.local', HTTPBIN);
      assert.deepEqual(got?.map((c) => [c.policy, c.port]), r.want);
    });
  }
});

describe('compileLocalRateLimits: the limits as the sidecar reads them', () => {
  test('clientRefs become SPIFFE IDs in the mesh trust domain; SPIFFE IDs stay as written; duplicates go', () => {
    const got = compileLocalRateLimits(
      [
        policy('rl', {
          total: { requestsPerSecond: 100 },
          identity: { requestsPerSecond: 20 },
          overrides: [
            { requestsPerSecond: 25, clientRefs: ['emojivoto/special-client', 'spiffe://other.org/ns/a/sa/b'] },
            { requestsPerSecond: 1, clientRefs: ['default/sleep'] },
          ],
        }),
      ],
      'example.org',
      HTTPBIN,
    );
    assert.deepEqual(got, [
      {
        policy: 'default/rl',
        total: 100,
        identity: 20,
        overrides: [
          { requestsPerSecond: 25, clients: ['spiffe://example.org/ns/emojivoto/sa/special-client', 'spiffe://other.org/ns/a/sa/b'] },
          { requestsPerSecond: 1, clients: ['spiffe://example.org/ns/default/sa/sleep'] },
        ],
      },
    ]);
  });
});

describe('the inbound section of a compiled ProxyConfig', () => {
  const BOOT = { ...meshConfigWithDefaults({ trustDomain: 'cluster.local' }), rootNamespace: 'weft-system' };
  const meta = (name: string, labels: Record<string, string> = {}): Resource['metadata'] =>
    ({ namespace: 'default', name, labels, annotations: {}, creationTimestamp: '2026-01-01T00:00:00Z' }) as Resource['metadata'];
  const httpbin: Resource = {
    apiVersion: 'weft.dev/v1alpha1',
    kind: 'Workload',
    metadata: meta('httpbin', { app: 'httpbin' }),
    spec: { serviceAccount: 'httpbin', command: ['app'], env: {}, ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
    status: { phase: 'Running', podIP: '10.0.0.1' },
  };
  const rl: Resource = { apiVersion: 'weft.dev/v1alpha1', kind: 'LocalRateLimitPolicy', metadata: meta('httpbin-rl'), spec: { selector: forApp('httpbin'), identity: { requestsPerSecond: 3 } } };
  const node = { role: 'sidecar' as const, namespace: 'default', name: 'httpbin', serviceAccount: 'httpbin' };

  test('carries the policy that selects the workload', () => {
    const cfg = compileProxyConfig(buildSnapshot([httpbin, rl], 1, BOOT), node);
    assert.deepEqual(cfg.inbound?.rateLimits, [{ policy: 'default/httpbin-rl', identity: 3, overrides: [] }]);
  });

  test('has no rateLimits field when no policy reaches the workload', () => {
    const cfg = compileProxyConfig(buildSnapshot([httpbin], 1, BOOT), node);
    assert.equal(cfg.inbound !== null && 'rateLimits' in cfg.inbound, false);
  });
});
