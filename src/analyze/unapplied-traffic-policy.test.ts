import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const rule = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'r', namespace: 'default', labels: {}, annotations: {} }, spec: { host: 'svc.example.com', ...spec } }) as unknown as Resource;

/** WEFT0130: what a DestinationRule sets that weft accepts and does not apply, wherever it is written. */
const cases: { name: string; spec: Record<string, unknown>; want: string[] }[] = [
  { name: 'applied settings only', spec: { trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: 'DO_NOT_UPGRADE', useClientProtocol: false, maxConcurrentStreams: 10 } } } }, want: [] },
  { name: 'tunnel (applied: opaque connections through an HTTP tunnel)', spec: { trafficPolicy: { tunnel: { targetHost: 'db.example.com', targetPort: 5432 } } }, want: [] },
  { name: 'proxyProtocol in a subset (applied: a PROXY header upstream)', spec: { subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { proxyProtocol: { version: 'V2' } } }] }, want: [] },
  {
    name: 'upgrade and client protocol on a port',
    spec: { trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, connectionPool: { http: { h2UpgradePolicy: 'UPGRADE', useClientProtocol: true } } }] } },
    want: ['spec.trafficPolicy.portLevelSettings[0].connectionPool.http.h2UpgradePolicy', 'spec.trafficPolicy.portLevelSettings[0].connectionPool.http.useClientProtocol'],
  },
  {
    name: 'http2KeepAlive in a subset (applied: PINGs on HTTP/2 sessions)',
    spec: { subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { connectionPool: { http: { http2KeepAlive: { interval: '30s', timeout: '5s' } } } } }] },
    want: [],
  },
];

test('WEFT0130: DestinationRule settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: rule(c.spec) }]).filter((f) => f.code === 'WEFT0130');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
