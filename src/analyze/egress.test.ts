import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const meta = (name: string, namespace: string): Resource['metadata'] => ({ name, namespace, labels: {}, annotations: {} });
const service = (name: string, namespace: string): Resource =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, namespace), spec: { ports: [{ name: 'http', port: 80 }], selector: { app: name } } }) as unknown as Resource;
const entry = (name: string, namespace: string, hosts: string[]): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(name, namespace), spec: { hosts, location: 'MESH_EXTERNAL', resolution: 'NONE', ports: [{ number: 443, name: 'tls', protocol: 'TLS' }] } }) as unknown as Resource;
const sidecar = (hosts: string[]): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: meta('s', 'shop'), spec: { egress: [{ hosts }] } }) as unknown as Resource;

const mesh = [service('cart', 'shop'), service('web', 'front'), entry('ext', 'shop', ['*.example.com']), entry('one', 'front', ['api.partner.io'])];

/** WEFT0106 (an egress host no Service or ServiceEntry matches), by the host's namespace and name. */
const cases: { host: string; flagged: boolean }[] = [
  { host: './cart.shop.svc.cluster.local', flagged: false },
  { host: 'shop/cart.shop.svc.cluster.local', flagged: false },
  { host: '*/web.front.svc.cluster.local', flagged: false },
  // In another namespace than the one named.
  { host: './web.front.svc.cluster.local', flagged: true },
  { host: './ghost.shop.svc.cluster.local', flagged: true },
  // Exact hosts under a ServiceEntry wildcard of the namespace, in any case.
  { host: './api.example.com', flagged: false },
  { host: './API.Example.com', flagged: false },
  { host: 'front/api.example.com', flagged: true },
  // Wildcard egress hosts overlap exact and wildcard entries.
  { host: 'front/*.partner.io', flagged: false },
  { host: './*.example.com', flagged: false },
  { host: './*.nowhere.io', flagged: true },
  { host: '*/*', flagged: false },
  { host: './*', flagged: false },
  { host: '~/*', flagged: false },
];

test('Sidecar egress hosts are matched against Services and ServiceEntries by namespace and host (WEFT0106)', () => {
  for (const c of cases) {
    const findings = analyzeResources([...mesh, sidecar([c.host])].map((resource) => ({ resource }))).filter((f) => f.code === 'WEFT0106');
    assert.equal(findings.length > 0, c.flagged, c.host);
  }
});

test('admission asks for the findings of its batch alone: the same as analysing everything and keeping the batch\'s', () => {
  // Every case above as its own Sidecar, and a wildcard entry wider than its use (WEFT0105) beside a narrow one.
  const sidecars = cases.map((c, i) => ({ ...sidecar([c.host]), metadata: meta(`s${i}`, 'shop') }) as Resource);
  const items = [...mesh, entry('wide', 'front', ['*.io']), ...sidecars].map((resource) => ({ resource }));
  const key = (r: Resource): string => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
  const all = analyzeResources(items);
  assert.ok(all.some((f) => f.code === 'WEFT0105') && all.some((f) => f.code === 'WEFT0106'), 'the corpus has findings of both checks');
  for (const { resource } of items) {
    const wanted = all.filter((f) => f.object !== undefined && key(resource) === `${f.object.kind}/${f.object.namespace}/${f.object.name}`);
    assert.deepEqual(analyzeResources(items, { subjects: new Set([key(resource)]) }), wanted, key(resource));
  }
  assert.deepEqual(analyzeResources(items, { subjects: new Set() }), []);
});
