import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const service = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'default', labels: {}, annotations: {} }, spec }) as unknown as Resource;

/** WEFT0137: Service settings Istio applies in the mesh and weft accepts without applying. */
const cases: { name: string; spec: Record<string, unknown>; want: string[] }[] = [
  { name: 'a ClusterIP Service', spec: { type: 'ClusterIP', selector: { app: 's' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }], sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' }, want: [] },
  { name: 'ExternalName', spec: { type: 'ExternalName', externalName: 'api.example.com' }, want: ['spec.type'] },
  { name: 'externalName without the type', spec: { selector: { app: 's' }, externalName: 'api.example.com' }, want: ['spec.externalName'] },
  { name: 'trafficDistribution', spec: { selector: { app: 's' }, ports: [{ port: 80 }], trafficDistribution: 'PreferClose' }, want: ['spec.trafficDistribution'] },
];

test('WEFT0137: Service settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: service(c.spec) }]).filter((f) => f.code === 'WEFT0137');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
