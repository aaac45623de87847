import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The fields of Service, Workload, Gateway and VirtualService documents that these tests read. */
interface ManifestDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    ports?: unknown;
    selector?: unknown;
    serviceAccount?: string;
    command?: string[];
    env?: Record<string, string>;
    servers?: unknown;
    gateways?: unknown;
    http?: { match: { uri: unknown }[]; route: unknown }[];
  };
}

describe('bookinfo manifests', () => {
  // Tests run from dist/examples/bookinfo; the manifests stay in the source tree.
  const source = (name: string): URL => new URL(`../../../examples/bookinfo/${name}`, import.meta.url);
  const load = async (name: string): Promise<ManifestDoc[]> =>
    parseAllDocuments(await readFile(source(name), 'utf8')).map((d) => d.toJS() as ManifestDoc);

  test('bookinfo.yaml declares Istio\'s services and one Workload per Deployment', async () => {
    const docs = await load('bookinfo.yaml');
    const services = docs.filter((d) => d.kind === 'Service');
    assert.deepEqual(services.map((s) => [s.apiVersion, s.metadata.name, s.spec.ports, s.spec.selector]), [
      ['v1', 'details', [{ port: 9080, name: 'http' }], { app: 'details' }],
      ['v1', 'ratings', [{ port: 9080, name: 'http' }], { app: 'ratings' }],
      ['v1', 'reviews', [{ port: 9080, name: 'http' }], { app: 'reviews' }],
      ['v1', 'productpage', [{ port: 9080, name: 'http' }], { app: 'productpage' }],
    ]);
    const workloads = docs.filter((d) => d.kind === 'Workload');
    const table = workloads.map((w) => [w.apiVersion, w.metadata.name, w.metadata.labels, w.spec.serviceAccount, w.spec.env ?? {}]);
    assert.deepEqual(table, [
      ['weft.dev/v1alpha1', 'details-v1', { app: 'details', version: 'v1' }, 'bookinfo-details', {}],
      ['weft.dev/v1alpha1', 'ratings-v1', { app: 'ratings', version: 'v1' }, 'bookinfo-ratings', {}],
      ['weft.dev/v1alpha1', 'reviews-v1', { app: 'reviews', version: 'v1' }, 'bookinfo-reviews', { SERVICE_VERSION: 'v1', ENABLE_RATINGS: 'false' }],
      ['weft.dev/v1alpha1', 'reviews-v2', { app: 'reviews', version: 'v2' }, 'bookinfo-reviews', { SERVICE_VERSION: 'v2', ENABLE_RATINGS: 'true', STAR_COLOR: 'black' }],
      ['weft.dev/v1alpha1', 'reviews-v3', { app: 'reviews', version: 'v3' }, 'bookinfo-reviews', { SERVICE_VERSION: 'v3', ENABLE_RATINGS: 'true', STAR_COLOR: 'red' }],
      ['weft.dev/v1alpha1', 'productpage-v1', { app: 'productpage', version: 'v1' }, 'bookinfo-productpage', {}],
    ]);
    for (const w of workloads) {
      assert.deepEqual(w.spec.ports, [{ name: 'http', containerPort: 9080 }]);
      const [node, script] = w.spec.command ?? [];
      assert.equal(node, 'node');
      // The command runs from the repository root: dist/examples/bookinfo/<app>.js sits beside this test.
      await access(fileURLToPath(new URL(`../../../${script}`, import.meta.url)));
    }
  });

  test('bookinfo-gateway.yaml routes the public paths to productpage', async () => {
    const [gateway, virtualService] = await load('bookinfo-gateway.yaml');
    assert.equal(gateway?.kind, 'Gateway');
    assert.deepEqual(gateway?.spec.selector, { istio: 'ingressgateway' });
    assert.deepEqual(gateway?.spec.servers, [{ port: { number: 8080, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }]);
    assert.equal(virtualService?.kind, 'VirtualService');
    assert.deepEqual(virtualService?.spec.gateways, ['bookinfo-gateway']);
    const [route] = virtualService?.spec.http ?? [];
    assert.deepEqual(route?.match.map((m) => m.uri), [
      { exact: '/productpage' }, { prefix: '/static' }, { exact: '/login' }, { exact: '/logout' }, { prefix: '/api/v1/products' },
    ]);
    assert.deepEqual(route?.route, [{ destination: { host: 'productpage', port: { number: 9080 } } }]);
  });
});
