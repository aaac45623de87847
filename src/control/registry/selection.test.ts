import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Registry, RegistryService, RegistryWorkload } from './index.js';
import { selects, servicesOf, workloadNamed, workloadsOf } from './index.js';

const service = (namespace: string, name: string, selector: Record<string, string> | undefined): RegistryService => ({
  namespace,
  name,
  host: `${name}.${namespace}.svc.cluster.local`,
  selector,
  ports: [],
  exportTo: undefined,
  clusterIP: undefined,
});
const workload = (namespace: string, name: string, labels: Record<string, string>): RegistryWorkload => ({
  namespace,
  name,
  labels,
  serviceAccount: name,
  ports: [],
  podIP: undefined,
  ready: false,
  sidecar: true,
});

// Selectors of one, two and no pairs, the same labels in two namespaces, and a selector whose first pair is
// common while its second is rare: the index files by one pair and must still check the rest.
const REG: Registry = {
  services: [
    service('default', 'reviews', { app: 'reviews' }),
    service('default', 'reviews-v2', { app: 'reviews', version: 'v2' }),
    service('default', 'by-version', { version: 'v1' }),
    service('default', 'headless', undefined),
    service('default', 'empty', {}),
    service('other', 'reviews', { app: 'reviews' }),
    service('default', 'nothing', { app: 'nobody' }),
  ],
  workloads: [
    workload('default', 'reviews-v1', { app: 'reviews', version: 'v1' }),
    workload('default', 'reviews-v2', { version: 'v2', app: 'reviews' }),
    workload('other', 'reviews-v1', { app: 'reviews', version: 'v1' }),
    workload('default', 'bare', {}),
    workload('default', 'ratings', { app: 'ratings', version: 'v1' }),
  ],
  serviceEntries: [],
};

const names = (xs: readonly { namespace: string; name: string }[]): string[] => xs.map((x) => `${x.namespace}/${x.name}`);

describe('selection index agrees with checking every pair', () => {
  for (const svc of REG.services) {
    test(`workloads of ${svc.namespace}/${svc.name}`, () => {
      const naive = REG.workloads.filter((w) => w.namespace === svc.namespace && selects(svc.selector, w.labels));
      assert.deepEqual(names(workloadsOf(REG, svc)), names(naive));
    });
  }
  for (const w of REG.workloads) {
    test(`services of ${w.namespace}/${w.name}`, () => {
      const naive = REG.services.filter((s) => s.namespace === w.namespace && selects(s.selector, w.labels));
      assert.deepEqual(names(servicesOf(REG, w)), names(naive));
    });
  }

  test('expected answers, in registry order', () => {
    assert.deepEqual(names(workloadsOf(REG, REG.services[0]!)), ['default/reviews-v1', 'default/reviews-v2']);
    assert.deepEqual(names(workloadsOf(REG, REG.services[1]!)), ['default/reviews-v2']);
    assert.deepEqual(names(workloadsOf(REG, REG.services[2]!)), ['default/reviews-v1', 'default/ratings']);
    assert.deepEqual(names(servicesOf(REG, REG.workloads[0]!)), ['default/reviews', 'default/by-version']);
  });

  test('a workload or service not in the registry is still answered', () => {
    const stranger = workload('default', 'stranger', { app: 'reviews', version: 'v2' });
    assert.deepEqual(names(servicesOf(REG, stranger)), ['default/reviews', 'default/reviews-v2']);
    assert.deepEqual(names(workloadsOf(REG, service('other', 'x', { version: 'v1' }))), ['other/reviews-v1']);
  });

  test('workloads by namespace and name', () => {
    assert.equal(workloadNamed(REG, 'other', 'reviews-v1'), REG.workloads[2]);
    assert.equal(workloadNamed(REG, 'default', 'ghost'), undefined);
  });
});
