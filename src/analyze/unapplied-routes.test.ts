import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const vs = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'v', namespace: 'default', labels: {}, annotations: {} }, spec: { hosts: ['svc.example.com'], ...spec } }) as unknown as Resource;
const to = [{ destination: { host: 'svc.example.com' } }];

/** WEFT0131: what a VirtualService sets that weft accepts and does not apply, wherever it is written. */
const cases: { name: string; spec: Record<string, unknown>; want: string[] }[] = [
  {
    name: 'applied settings only',
    spec: { http: [{ name: 'r', match: [{ name: 'm', uri: { prefix: '/' }, sourceNamespace: 'default' }], route: to, retries: { attempts: 2, retryRemoteLocalities: false, retryIgnorePreviousHosts: true, backoff: '25ms' } }], tcp: [{ match: [{ port: 5432, destinationSubnets: ['10.0.0.0/8'] }], route: to }] },
    want: [],
  },
  { name: 'statPrefix on the second match', spec: { http: [{ match: [{ uri: { exact: '/a' } }, { uri: { prefix: '/b' }, statPrefix: 'critical' }], route: to }] }, want: ['spec.http[0].match[1].statPrefix'] },
  { name: 'retryRemoteLocalities true', spec: { http: [{ route: to }, { route: to, retries: { attempts: 3, retryRemoteLocalities: true } }] }, want: ['spec.http[1].retries.retryRemoteLocalities'] },
  { name: 'tcp sourceSubnet', spec: { tcp: [{ match: [{ port: 5432 }, { sourceSubnet: '10.1.0.0/16' }], route: to }] }, want: ['spec.tcp[0].match[1].sourceSubnet'] },
];

test('WEFT0131: VirtualService settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: vs(c.spec) }]).filter((f) => f.code === 'WEFT0131');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
