/** A small mesh and compile shortcuts for the outbound tests (services, ServiceEntries, Sidecars, exportTo). */
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { ProxyConfigSchema } from '../../proxyconfig/types.js';
import type { ExternalService, ProxyConfig } from '../../proxyconfig/types.js';
import { buildSnapshot } from './snapshot.js';
import type { MeshSnapshot } from './snapshot.js';
import { compileProxyConfig } from './index.js';

export const BOOT = { ...meshConfigWithDefaults({}), rootNamespace: 'istio-config' };
export const CIDR = '198.19.200.0/24';

function resource(kind: string, namespace: string, name: string, spec: unknown, o: { labels?: Record<string, string>; annotations?: Record<string, string>; status?: unknown } = {}): Resource {
  return {
    apiVersion: kind === 'Service' ? 'v1' : kind === 'Workload' ? 'weft.dev/v1alpha1' : 'networking.istio.io/v1',
    kind,
    metadata: { namespace, name, labels: o.labels ?? {}, annotations: o.annotations ?? {}, creationTimestamp: '2024-01-01T00:00:00Z' } as Resource['metadata'],
    spec,
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}
export const service = (ns: string, name: string, ports: number[], extra: { annotations?: Record<string, string>; clusterIP?: string } = {}): Resource =>
  resource('Service', ns, name, { selector: { app: name }, ports: ports.map((port) => ({ name: `http-${port}`, port, protocol: 'TCP' })), clusterIP: extra.clusterIP }, { annotations: extra.annotations });
let podIndex = 10;
export const workload = (ns: string, name: string, labels: Record<string, string> = { app: name }): Resource =>
  resource('Workload', ns, name, { serviceAccount: name, command: ['app'], env: {}, ports: [] }, { labels, status: { phase: 'Running', podIP: `198.18.0.${podIndex++}` } });
export const serviceEntry = (ns: string, name: string, spec: unknown): Resource => resource('ServiceEntry', ns, name, spec);
export const sidecar = (ns: string, name: string, spec: unknown): Resource => resource('Sidecar', ns, name, spec);

// The mesh of Istio's Sidecar reference: prod-us1 calls prod-apis and istio-system; ratings has its own Sidecar.
export const MESH: Resource[] = [
  service('prod-us1', 'productpage', [9080]),
  service('prod-us1', 'reviews', [9080, 9090]),
  service('prod-us1', 'ratings', [9080]),
  service('prod-apis', 'catalog', [80]),
  service('istio-system', 'istiod', [15010, 15012]),
  service('shop', 'cart', [8080]),
  workload('prod-us1', 'productpage'),
  workload('prod-us1', 'reviews'),
  workload('prod-us1', 'ratings'),
  workload('shop', 'cart'),
  workload('prod-apis', 'catalog'),
];

/** null: a mesh without a service range. */
export const snapshot = (resources: Resource[], serviceCidr: string | null = CIDR): MeshSnapshot => buildSnapshot(resources, 1, BOOT, new Map(), { serviceCidr: serviceCidr ?? undefined });
export const sidecarConfig = (snap: MeshSnapshot, namespace: string, name: string): ProxyConfig => ProxyConfigSchema.parse(compileProxyConfig(snap, { role: 'sidecar', namespace, name, serviceAccount: name }));
export const gatewayConfig = (snap: MeshSnapshot, namespace: string): ProxyConfig =>
  ProxyConfigSchema.parse(compileProxyConfig(snap, { role: 'gateway', namespace, name: 'ingressgateway', serviceAccount: 'ingressgateway', labels: { istio: 'ingressgateway' } }));
export const hosts = (c: ProxyConfig): string[] => c.outbound.services.map((s) => s.host).sort();
export const external = (c: ProxyConfig, source: string): ExternalService => {
  const e = c.outbound.externals.find((x) => x.source === source);
  assert.ok(e, `no external ${source}`);
  return e;
};

