import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { buildSnapshot } from './snapshot.js';
import { egressScope, hostSubsetOf, sidecarFor, trafficPolicyFor } from './sidecar-scope.js';
import type { AppliedSidecar, PortFilter } from './sidecar-scope.js';

const BOOT = { ...meshConfigWithDefaults({}), rootNamespace: 'istio-config' };

function sidecarResource(namespace: string, name: string, spec: unknown, created = '2024-01-01T00:00:00Z'): Resource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'Sidecar',
    metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: created } as Resource['metadata'],
    spec,
  };
}
const applied = (namespace: string, spec: AppliedSidecar['spec']): AppliedSidecar => ({ namespace, name: 'sc', creationTimestamp: '', annotations: {}, spec });

describe('hostSubsetOf: Istio host.Name.SubsetOf', () => {
  const rows: Array<[string, string, boolean]> = [
    ['foo.com', 'foo.com', true],
    ['foo.com', 'bar.com', false],
    ['foo.com', '*.com', true],
    ['foo.com', '*', true],
    ['foo.com', '*.foo.com', false],
    ['a.foo.com', '*.foo.com', true],
    ['*.foo.com', '*.com', true],
    ['*.foo.com', '*.foo.com', true],
    ['*.com', '*.foo.com', false],
    ['*.foo.com', 'a.foo.com', false],
    ['*.foo.com', '*', true],
    ['*', '*.com', false],
    ['Reviews.Default.svc.cluster.local', 'reviews.default.svc.cluster.local', true],
    ['reviews.default.svc.cluster.local', '*.svc.cluster.local', true],
    ['reviews.default.svc.cluster.local', '*.other.svc.cluster.local', false],
  ];
  for (const [host, pattern, want] of rows) test(`${host} ⊆ ${pattern}: ${want}`, () => assert.equal(hostSubsetOf(host, pattern), want));
});

describe('sidecarFor: Istio precedence', () => {
  const snap = buildSnapshot(
    [
      sidecarResource('istio-config', 'default', { egress: [{ hosts: ['./*'] }] }),
      sidecarResource('istio-config', 'selecting', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['*/*'] }] }),
      sidecarResource('prod-us1', 'namespace-wide', { egress: [{ hosts: ['prod-us1/*'] }] }),
      sidecarResource('prod-us1', 'ratings', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./*'] }] }),
      // Two selecting the same workload: the older wins whatever the names; equally old, the first by name.
      sidecarResource('prod-us1', 'b-newer', { workloadSelector: { labels: { app: 'reviews' } }, egress: [{ hosts: ['./*'] }] }, '2024-03-01T00:00:00Z'),
      sidecarResource('prod-us1', 'z-older', { workloadSelector: { labels: { app: 'reviews' } }, egress: [{ hosts: ['./*'] }] }, '2024-02-01T00:00:00Z'),
      sidecarResource('prod-us1', 'y-same', { workloadSelector: { labels: { app: 'details' } }, egress: [{ hosts: ['./*'] }] }),
      sidecarResource('prod-us1', 'x-same', { workloadSelector: { labels: { app: 'details' } }, egress: [{ hosts: ['./*'] }] }),
      sidecarResource('other', 'only-selecting', { workloadSelector: { labels: { app: 'db' } }, egress: [{ hosts: ['./*'] }] }),
    ],
    1,
    BOOT,
  );
  const rows: Array<{ name: string; namespace: string; labels: Record<string, string>; want: string | undefined }> = [
    { name: 'selector match in own namespace beats the namespace-wide one', namespace: 'prod-us1', labels: { app: 'ratings', version: 'v1' }, want: 'prod-us1/ratings' },
    { name: 'no selector match: the namespace-wide one', namespace: 'prod-us1', labels: { app: 'productpage' }, want: 'prod-us1/namespace-wide' },
    { name: 'tie between selecting ones: the oldest', namespace: 'prod-us1', labels: { app: 'reviews' }, want: 'prod-us1/z-older' },
    { name: 'tie, equally old: the first by name', namespace: 'prod-us1', labels: { app: 'details' }, want: 'prod-us1/x-same' },
    { name: 'nothing in the namespace applies: the root namespace one without a selector', namespace: 'other', labels: { app: 'web' }, want: 'istio-config/default' },
    { name: 'a root-namespace selector never reaches another namespace', namespace: 'shop', labels: { app: 'ratings' }, want: 'istio-config/default' },
    { name: 'a selecting Sidecar applies in its namespace', namespace: 'other', labels: { app: 'db' }, want: 'other/only-selecting' },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const s = sidecarFor(snap, r);
      assert.equal(s === undefined ? undefined : `${s.namespace}/${s.name}`, r.want);
    });
  }
  test('no Sidecar anywhere: none applies', () => {
    assert.equal(sidecarFor(buildSnapshot([], 1, BOOT), { namespace: 'prod-us1', labels: {} }), undefined);
  });
});

describe('egressScope: which hosts and ports a Sidecar imports', () => {
  const show = (f: PortFilter | undefined): string => (f === undefined ? 'none' : f === 'all' ? 'all' : [...f].sort().join(','));
  // From Istio's Sidecar reference: a namespace default importing its own namespace and istio-system; a workload
  // Sidecar with a port-9080 listener for prod-us1 and a catch-all for istio-system.
  const nsDefault = applied('prod-us1', { egress: [{ hosts: ['./*', 'istio-system/*'] }] });
  const ratings = applied('prod-us1', {
    workloadSelector: { labels: { app: 'ratings' } },
    egress: [{ port: { number: 9080, protocol: 'HTTP', name: 'egresshttp' }, hosts: ['prod-us1/*'] }, { hosts: ['istio-system/*'] }],
  });
  const rows: Array<{ name: string; sidecar: AppliedSidecar | undefined; from: string; ns: string; host: string; want: string }> = [
    { name: 'no Sidecar: everything', sidecar: undefined, from: 'a', ns: 'b', host: 'x.b.svc.cluster.local', want: 'all' },
    { name: 'Sidecar without egress: everything', sidecar: applied('a', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } }), from: 'a', ns: 'b', host: 'x.b.svc.cluster.local', want: 'all' },
    { name: './* imports the own namespace', sidecar: nsDefault, from: 'prod-us1', ns: 'prod-us1', host: 'reviews.prod-us1.svc.cluster.local', want: 'all' },
    { name: 'named namespace', sidecar: nsDefault, from: 'prod-us1', ns: 'istio-system', host: 'istiod.istio-system.svc.cluster.local', want: 'all' },
    { name: 'other namespaces not imported', sidecar: nsDefault, from: 'prod-us1', ns: 'prod-apis', host: 'api.prod-apis.svc.cluster.local', want: 'none' },
    { name: 'root-namespace Sidecar: . is the workload namespace', sidecar: applied('istio-config', { egress: [{ hosts: ['./*'] }] }), from: 'shop', ns: 'shop', host: 'cart.shop.svc.cluster.local', want: 'all' },
    { name: 'root-namespace Sidecar: . is not its own namespace', sidecar: applied('istio-config', { egress: [{ hosts: ['./*'] }] }), from: 'shop', ns: 'istio-config', host: 'x.istio-config.svc.cluster.local', want: 'none' },
    { name: 'port listener limits to its port', sidecar: ratings, from: 'prod-us1', ns: 'prod-us1', host: 'reviews.prod-us1.svc.cluster.local', want: '9080' },
    { name: 'catch-all listener: all ports', sidecar: ratings, from: 'prod-us1', ns: 'istio-system', host: 'istiod.istio-system.svc.cluster.local', want: 'all' },
    { name: '*/ any namespace, exact FQDN', sidecar: applied('a', { egress: [{ hosts: ['*/ratings.b.svc.cluster.local'] }] }), from: 'a', ns: 'b', host: 'ratings.b.svc.cluster.local', want: 'all' },
    { name: '*/ exact FQDN does not import another host', sidecar: applied('a', { egress: [{ hosts: ['*/ratings.b.svc.cluster.local'] }] }), from: 'a', ns: 'b', host: 'reviews.b.svc.cluster.local', want: 'none' },
    { name: 'namespace must match too', sidecar: applied('a', { egress: [{ hosts: ['c/ratings.b.svc.cluster.local'] }] }), from: 'a', ns: 'b', host: 'ratings.b.svc.cluster.local', want: 'none' },
    { name: '~/* imports nothing', sidecar: applied('a', { egress: [{ hosts: ['~/*'] }] }), from: 'a', ns: 'a', host: 'x.a.svc.cluster.local', want: 'none' },
    { name: 'wildcard dnsName imports an exact ServiceEntry host', sidecar: applied('a', { egress: [{ hosts: ['*/*.wikipedia.org'] }] }), from: 'a', ns: 'ext', host: 'en.wikipedia.org', want: 'all' },
    { name: 'wildcard ServiceEntry host needs an import that covers it', sidecar: applied('a', { egress: [{ hosts: ['*/en.wikipedia.org'] }] }), from: 'a', ns: 'ext', host: '*.wikipedia.org', want: 'none' },
    { name: 'wildcard ServiceEntry host under a wider wildcard', sidecar: applied('a', { egress: [{ hosts: ['ext/*.org'] }] }), from: 'a', ns: 'ext', host: '*.wikipedia.org', want: 'all' },
    {
      name: 'two port listeners: their ports together',
      sidecar: applied('a', { egress: [{ port: { number: 80 }, hosts: ['*/*'] }, { port: { number: 443 }, hosts: ['b/*'] }] }),
      from: 'a',
      ns: 'b',
      host: 'x.b.svc.cluster.local',
      want: '443,80',
    },
  ];
  for (const r of rows) test(r.name, () => assert.equal(show(egressScope(r.sidecar, r.from).visible(r.ns, r.host)), r.want));
});

describe('trafficPolicyFor: the Sidecar overrides MeshConfig', () => {
  const snap = (mode: 'ALLOW_ANY' | 'REGISTRY_ONLY') => buildSnapshot([], 1, { ...BOOT, outboundTrafficPolicy: { mode } });
  const rows: Array<{ mesh: 'ALLOW_ANY' | 'REGISTRY_ONLY'; sidecar: AppliedSidecar | undefined; want: string }> = [
    { mesh: 'REGISTRY_ONLY', sidecar: undefined, want: 'REGISTRY_ONLY' },
    { mesh: 'ALLOW_ANY', sidecar: undefined, want: 'ALLOW_ANY' },
    { mesh: 'ALLOW_ANY', sidecar: applied('a', { egress: [{ hosts: ['./*'] }] }), want: 'ALLOW_ANY' },
    { mesh: 'REGISTRY_ONLY', sidecar: applied('a', { outboundTrafficPolicy: { mode: 'ALLOW_ANY' } }), want: 'ALLOW_ANY' },
    { mesh: 'ALLOW_ANY', sidecar: applied('a', { outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }), want: 'REGISTRY_ONLY' },
    { mesh: 'ALLOW_ANY', sidecar: applied('a', { outboundTrafficPolicy: {} }), want: 'REGISTRY_ONLY' },
  ];
  for (const r of rows) test(`mesh ${r.mesh}, Sidecar ${JSON.stringify(r.sidecar?.spec.outboundTrafficPolicy)}`, () => assert.equal(trafficPolicyFor(snap(r.mesh), r.sidecar), r.want));
});
