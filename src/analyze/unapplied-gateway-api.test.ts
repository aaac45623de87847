import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../config/resource.js';
import { analyzeResources } from './index.js';

const meta = (name: string, namespace = 'default'): Record<string, unknown> => ({ name, namespace, labels: {}, annotations: {} });
const gtw = (spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'KubernetesGateway', metadata: meta('gw'), spec: { gatewayClassName: 'istio', ...spec } }) as unknown as Resource;
const http = { name: 'http', port: 80, protocol: 'HTTP' };
const https = (tls: Record<string, unknown>): Record<string, unknown> => ({ name: 'https', port: 443, protocol: 'HTTPS', hostname: 'shop.example.com', tls: { mode: 'Terminate', ...tls } });
const route = (timeouts: Record<string, unknown>): Resource =>
  ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: meta('r'), spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }, { timeouts, backendRefs: [{ name: 'svc', port: 80 }] }] } }) as unknown as Resource;

/** WEFT0136: what Gateway API resources set that weft accepts and does not apply. */
const cases: { name: string; resources: Resource[]; want: string[] }[] = [
  { name: 'applied settings only', resources: [gtw({ listeners: [http, https({ certificateRefs: [{ name: 'cert' }] })] }), route({ request: '10s' }), route({ backendRequest: '2s' })], want: [] },
  { name: 'addresses and infrastructure', resources: [gtw({ listeners: [http], addresses: [{ value: '198.18.0.10' }], infrastructure: { labels: { team: 'a' } } })], want: ['KubernetesGateway spec.addresses', 'KubernetesGateway spec.infrastructure'] },
  {
    name: 'tls options and a second certificate',
    resources: [gtw({ listeners: [http, https({ certificateRefs: [{ name: 'rsa' }, { name: 'ecdsa' }], options: { 'gateway.istio.io/tls-terminate-mode': 'MUTUAL' } })] })],
    want: ['KubernetesGateway spec.listeners[1].tls.options', 'KubernetesGateway spec.listeners[1].tls.certificateRefs[1]'],
  },
  {
    name: 'GatewayClass parametersRef',
    resources: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: meta('istio', ''), spec: { controllerName: 'istio.io/gateway-controller', parametersRef: { group: '', kind: 'ConfigMap', name: 'params', namespace: 'default' } } } as unknown as Resource],
    want: ['GatewayClass spec.parametersRef'],
  },
  { name: 'backendRequest beside request', resources: [route({ request: '10s', backendRequest: '2s' })], want: ['HTTPRoute spec.rules[1].timeouts.backendRequest'] },
  { name: 'request 0s leaves backendRequest applied', resources: [route({ request: '0s', backendRequest: '2s' })], want: [] },
];

test('WEFT0136: Gateway API settings weft accepts but does not apply', () => {
  for (const c of cases) {
    const found = analyzeResources(c.resources.map((resource) => ({ resource }))).filter((f) => f.code === 'WEFT0136');
    assert.deepEqual(found.map((f) => `${f.object?.kind ?? "-"} ${f.field}`).sort(), [...c.want].sort(), c.name);
    for (const f of found) assert.equal(f.severity, 'warning', c.name);
  }
});
