import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateDocument } from './validate.js';
import { isWeftError } from '../errors.js';
import type { ConfigIssue } from './issues.js';
import type { ServiceSpec } from './kinds/service.js';
import type { WorkloadSpec } from './kinds/workload.js';

const service = (metadata: Record<string, unknown>, spec: unknown = { ports: [{ port: 80 }] }): unknown => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata,
  spec,
});

/** The "field: message" pairs a document is rejected with, or [] if it validates. */
function rejected(doc: unknown): string[] {
  try {
    validateDocument(doc, 'doc.yaml');
    return [];
  } catch (err) {
    assert.ok(isWeftError(err));
    return ((err.detail?.['issues'] ?? []) as ConfigIssue[]).map((i) => `${i.field}: ${i.message}`);
  }
}

describe('metadata follows Kubernetes rules', () => {
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['plain name', { name: 'reviews' }, []],
    ['name with upper case', { name: 'Reviews' }, ['metadata.name: name must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit']],
    ['Service name starting with a digit', { name: '1reviews' }, ['metadata.name: name must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit']],
    ['Service name with a dot', { name: 'a.b' }, ['metadata.name: name must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit']],
    ['Service name of 64 characters', { name: 'a'.repeat(64) }, ['metadata.name: name must be at most 63 characters']],
    ['missing name', {}, ['metadata: metadata.name is required']],
    ['namespace with a dot', { name: 'a', namespace: 'a.b' }, ['metadata.namespace: namespace must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit']],
    ['labels with prefixed keys', { name: 'a', labels: { 'app.kubernetes.io/name': 'x', version: 'v1.2_3', empty: '' } }, []],
    ['label value with a space', { name: 'a', labels: { app: 'my app' } }, ['metadata.labels.app: label value must be letters, digits, "-", "_" and ".", starting and ending with a letter or digit']],
    ['label value not a string', { name: 'a', labels: { replicas: 3 } }, ['metadata.labels.replicas: labels values must be strings (quote numbers and booleans)']],
    ['label key with an upper-case prefix', { name: 'a', labels: { 'Example.com/x': 'y' } }, ['metadata.labels["Example.com/x"]: key prefix must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit']],
    ['annotation values may be anything', { name: 'a', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"a": 1}\n' } }, []],
    ['server-set fields are accepted', { name: 'a', uid: 'u', resourceVersion: '7', generation: 3, creationTimestamp: '2024-01-01T00:00:00Z' }, []],
    ['unknown metadata field', { name: 'a', finalizer: ['x'] }, ['metadata.finalizer: unknown field']],
  ];
  for (const [name, metadata, expect] of cases) {
    test(name, () => assert.deepEqual(rejected(service(metadata)), expect));
  }

  test('Istio kinds take DNS-1123 subdomain names', () => {
    const vs = (name: string): unknown => ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name }, spec: { hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] } });
    assert.deepEqual(rejected(vs('reviews.v1')), []);
    assert.equal(rejected(vs('-reviews')).length, 1);
  });
});

describe('the resource envelope', () => {
  test('namespace defaults to "default", labels and annotations to {}', () => {
    const r = validateDocument(service({ name: 'reviews' }), 'doc.yaml');
    assert.deepEqual(r.metadata, { name: 'reviews', namespace: 'default', labels: {}, annotations: {} });
    assert.equal(r.status, undefined);
  });

  test('schema defaults are applied', () => {
    const svc = validateDocument(service({ name: 'reviews' }), 'doc.yaml');
    assert.equal((svc.spec as ServiceSpec).ports?.[0]?.protocol, 'TCP');
    const wl = validateDocument({ apiVersion: 'weft.dev/v1alpha1', kind: 'Workload', metadata: { name: 'w' }, spec: { command: ['node'] } }, 'doc.yaml');
    const spec = wl.spec as WorkloadSpec;
    assert.equal(spec.serviceAccount, 'default');
    assert.deepEqual(spec.env, {});
    assert.deepEqual(spec.ports, []);
  });

  test('older apiVersions are normalised', () => {
    const r = validateDocument({ apiVersion: 'networking.istio.io/v1alpha3', kind: 'VirtualService', metadata: { name: 'a' }, spec: { hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] } }, 'doc.yaml');
    assert.equal(r.apiVersion, 'networking.istio.io/v1');
  });

  test('status written by a cluster is accepted and dropped', () => {
    const r = validateDocument({ ...(service({ name: 'a' }) as object), status: { loadBalancer: {} } }, 'doc.yaml');
    assert.equal(r.status, undefined);
  });

  test('unknown top-level field', () => {
    assert.deepEqual(rejected({ ...(service({ name: 'a' }) as object), specs: {} }), ['specs: unknown field']);
  });

  test('a missing spec is validated as empty, so required fields are named', () => {
    assert.deepEqual(rejected({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'a' } }), ['spec.host: required field is missing']);
  });

  test('a document that is not a mapping', () => {
    assert.deepEqual(rejected(['a']), [': a resource must be a mapping with apiVersion, kind, metadata and spec']);
  });

  test('unknown kind is CONFIG_UNKNOWN_KIND and names the known kinds', () => {
    assert.throws(
      () => validateDocument({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' } }, { file: 'd.yaml', line: 3, column: 1 }),
      (err) =>
        isWeftError(err, 'CONFIG_UNKNOWN_KIND') &&
        err.message.startsWith('d.yaml:3:1: kind: unknown kind apps/v1 Deployment; known kinds:') &&
        err.message.includes('networking.istio.io/v1 VirtualService') &&
        err.message.includes('weft.dev/v1alpha1 Workload'),
    );
  });

  test('missing apiVersion and kind', () => {
    assert.deepEqual(rejected({ metadata: { name: 'a' } }), [': apiVersion is required', ': kind is required']);
  });
});
