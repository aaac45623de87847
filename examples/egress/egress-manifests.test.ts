/**
 * The egress example's manifests load as `weft up` and `weft apply` load them (strictly validated), and say what
 * the README claims: the mesh itself holds only the client and REGISTRY_ONLY, the rest is applied on demand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadResources } from '../../src/config/load.js';

// Tests run from dist/examples/egress; the manifests stay in the source tree.
const source = (name: string): string => fileURLToPath(new URL(`../../../examples/egress/${name}`, import.meta.url));
const summary = async (name: string): Promise<string[]> =>
  (await loadResources([source(name)])).map(({ resource: r }) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`);
const spec = async (name: string): Promise<Record<string, unknown>> => {
  const [first] = await loadResources([source(name)]);
  assert.ok(first, `${name} holds a resource`);
  return first.resource.spec as Record<string, unknown>;
};

test('weft up examples/egress: the client and REGISTRY_ONLY, nothing from config/', async () => {
  assert.deepEqual((await summary('.')).sort(), ['MeshConfig weft-system/mesh', 'Service default/curl', 'Workload default/curl']);
  assert.deepEqual((await spec('mesh-config.yaml'))['outboundTrafficPolicy'], { mode: 'REGISTRY_ONLY' });
});

test('config/: a ServiceEntry for HTTP and HTTPS, ALLOW_ANY, and a Sidecar for curl alone', async () => {
  const se = await spec('config/serviceentry.yaml');
  assert.deepEqual(se['hosts'], ['httpbin.org']);
  assert.deepEqual(se['ports'], [
    { number: 80, name: 'http', protocol: 'HTTP' },
    { number: 443, name: 'https', protocol: 'HTTPS' },
  ]);
  assert.deepEqual(await summary('config/serviceentry.yaml'), ['ServiceEntry external/httpbin-org']);
  assert.deepEqual(await summary('config/allow-any.yaml'), ['MeshConfig weft-system/mesh']);
  assert.deepEqual((await spec('config/allow-any.yaml'))['outboundTrafficPolicy'], { mode: 'ALLOW_ANY' });
  const sidecar = await spec('config/sidecar.yaml');
  assert.deepEqual(sidecar['workloadSelector'], { labels: { app: 'curl' } });
  assert.deepEqual(sidecar['egress'], [{ hosts: ['./*'] }]);
});
