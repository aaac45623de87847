/** The security section carries only the extension providers a CUSTOM policy reaching the proxy names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import type { AuthorizationPolicySpec } from '../../config/kinds/authorization-policy.js';
import { buildSnapshot } from './snapshot.js';
import { compileSecurity } from './security.js';

const provider = (name: string) => ({ name, envoyExtAuthzHttp: { service: `${name}.authz.svc.cluster.local`, port: 8000 } });
const mesh = { ...meshConfigWithDefaults({ extensionProviders: [provider('ext-a'), provider('ext-b')] }), rootNamespace: 'istio-system' };

function withPolicies(policies: Array<{ namespace: string; name: string; spec: AuthorizationPolicySpec }>) {
  const snap = buildSnapshot([], 1, mesh);
  return { ...snap, authorizationPolicies: policies.map((p) => ({ ...p, creationTimestamp: '', annotations: {} })) };
}

const custom = (providerName: string, app: string): AuthorizationPolicySpec =>
  ({ selector: { matchLabels: { app } }, action: 'CUSTOM', provider: { name: providerName }, rules: [{}] }) as AuthorizationPolicySpec;

for (const c of [
  { name: 'no CUSTOM policy reaches it: no providers', workload: { namespace: 'shop', labels: { app: 'cart' } }, want: [] as string[] },
  { name: 'a CUSTOM policy selects it: that provider only', workload: { namespace: 'shop', labels: { app: 'web' } }, want: ['ext-a'] },
  { name: 'a namespace-wide CUSTOM policy and a selecting one: both', workload: { namespace: 'ops', labels: { app: 'web' } }, want: ['ext-a', 'ext-b'] },
]) {
  test(c.name, () => {
    const snap = withPolicies([
      { namespace: 'shop', name: 'web-ext', spec: custom('ext-a', 'web') },
      { namespace: 'ops', name: 'web-ext', spec: custom('ext-a', 'web') },
      { namespace: 'ops', name: 'all-ext', spec: { action: 'CUSTOM', provider: { name: 'ext-b' }, rules: [{}] } as AuthorizationPolicySpec },
    ]);
    assert.deepEqual(compileSecurity(snap, c.workload).extensionProviders.map((p) => p.name), c.want);
  });
}
