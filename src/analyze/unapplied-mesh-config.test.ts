import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const mesh = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'weft.dev/v1alpha1', kind: 'MeshConfig', metadata: { name: 'mesh', namespace: 'weft-system', labels: {}, annotations: {} }, spec }) as unknown as Resource;
const authz = (extra: Record<string, unknown>): Record<string, unknown> => ({ name: 'ext', envoyExtAuthzHttp: { service: 'authz.weft-system.svc.cluster.local', port: 8000, ...extra } });

/** WEFT0135: what a MeshConfig sets that weft accepts and does not apply. */
const cases: { name: string; spec: Record<string, unknown>; want: string[] }[] = [
  {
    name: 'applied settings only',
    spec: { extensionProviders: [authz({ timeout: '2s', failOpen: true, clearRouteCache: false }), { name: 'otel', opentelemetry: { service: 'otel.observability', port: 4318, http: { path: '/v1/traces' } } }], defaultConfig: { tracing: { sampling: 10 } } },
    want: [],
  },
  {
    name: 'ext-authz body and route cache',
    spec: { extensionProviders: [authz({ clearRouteCache: true, includeRequestBodyInCheck: { maxRequestBytes: 1024 } })] },
    want: ['spec.extensionProviders[0].envoyExtAuthzHttp.clearRouteCache', 'spec.extensionProviders[0].envoyExtAuthzHttp.includeRequestBodyInCheck'],
  },
  { name: 'otel timeout', spec: { extensionProviders: [authz({}), { name: 'otel', opentelemetry: { service: 'otel.observability', port: 4318, http: { timeout: '5s' } } }] }, want: ['spec.extensionProviders[1].opentelemetry.http.timeout'] },
  { name: 'maxPathTagLength', spec: { defaultConfig: { tracing: { maxPathTagLength: 64 } } }, want: ['spec.defaultConfig.tracing.maxPathTagLength'] },
];

test('WEFT0135: MeshConfig settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources([{ resource: mesh(c.spec) }]).filter((f) => f.code === 'WEFT0135');
    assert.deepEqual(found.map((f) => f.field).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
