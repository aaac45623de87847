import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const sidecar = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 's', namespace: 'default', labels: {}, annotations: {} }, spec }) as unknown as Resource;

/** WEFT0133: what a Sidecar sets that weft accepts and does not apply. */
const cases: { name: string; spec: Record<string, unknown>; want: string[] }[] = [
  { name: 'applied settings only', spec: { egress: [{ port: { number: 80, protocol: 'HTTP', name: 'http' }, hosts: ['./*'], captureMode: 'DEFAULT' }, { hosts: ['istio-system/*'] }], outboundTrafficPolicy: { mode: 'ALLOW_ANY' } }, want: [] },
  { name: 'an ingress listener', spec: { ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' }] }, want: ['spec.ingress[0]'] },
  { name: 'inbound pool', spec: { inboundConnectionPool: { http: { http1MaxPendingRequests: 10 } } }, want: ['spec.inboundConnectionPool'] },
  { name: 'bind and capture NONE', spec: { egress: [{ port: { number: 3306, protocol: 'MYSQL', name: 'mysql' }, bind: '127.0.0.1', captureMode: 'NONE', hosts: ['*/mysql.example.com'] }] }, want: ['spec.egress[0].bind', 'spec.egress[0].captureMode'] },
  { name: 'egressProxy', spec: { outboundTrafficPolicy: { mode: 'ALLOW_ANY', egressProxy: { host: 'proxy.example.com', port: { number: 3128 } } } }, want: ['spec.outboundTrafficPolicy.egressProxy'] },
];

test('WEFT0133: Sidecar settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: sidecar(c.spec) }]).filter((f) => f.code === 'WEFT0133');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
