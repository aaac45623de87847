import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const entry = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'e', namespace: 'default', labels: {}, annotations: {} }, spec: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], ...spec } }) as unknown as Resource;

/** WEFT0134: what a ServiceEntry sets that weft accepts and does not apply. */
const cases: { name: string; spec: Record<string, unknown>; want: string[] }[] = [
  { name: 'applied settings only', spec: { addresses: ['198.51.100.7'], location: 'MESH_EXTERNAL', resolution: 'STATIC', endpoints: [{ address: '198.51.100.7', ports: { tls: 8443 } }], exportTo: ['.'] }, want: [] },
  {
    name: 'endpoint fields',
    spec: { resolution: 'STATIC', endpoints: [{ address: '198.51.100.7' }, { address: '198.51.100.8', labels: { version: 'v2' }, network: 'n2', locality: 'us/east', weight: 3, serviceAccount: 'api' }] },
    want: ['spec.endpoints[1].labels', 'spec.endpoints[1].network', 'spec.endpoints[1].locality', 'spec.endpoints[1].weight', 'spec.endpoints[1].serviceAccount'],
  },
  { name: 'workloadSelector', spec: { location: 'MESH_INTERNAL', resolution: 'STATIC', workloadSelector: { labels: { app: 'vm' } } }, want: ['spec.workloadSelector'] },
  { name: 'subjectAltNames', spec: { resolution: 'DNS', subjectAltNames: ['spiffe://example.com/ns/a/sa/b'] }, want: ['spec.subjectAltNames'] },
];

test('WEFT0134: ServiceEntry settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: entry(c.spec) }]).filter((f) => f.code === 'WEFT0134');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
