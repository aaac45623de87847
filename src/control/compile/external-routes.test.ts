/**
 * The sidecar's routes for ServiceEntry hosts bound to the mesh, and the hosts that leave only through an egress
 * gateway: Istio's egress gateway task (HTTP, TLS by SNI, ISTIO_MUTUAL to the gateway's 443) compiled for a sidecar.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { snapshot, sidecarConfig, gatewayConfig, workload } from './outbound.fixture.js';

const GW = 'istio-egressgateway.istio-system.svc.cluster.local';

function r(kind: string, namespace: string, name: string, spec: unknown, o: { labels?: Record<string, string>; annotations?: Record<string, string>; status?: unknown; created?: string } = {}): Resource {
  return {
    apiVersion: kind === 'Service' ? 'v1' : kind === 'Workload' ? 'weft.dev/v1alpha1' : 'networking.istio.io/v1',
    kind,
    metadata: { namespace, name, labels: o.labels ?? {}, annotations: o.annotations ?? {}, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z' } as Resource['metadata'],
    spec,
    ...(o.status === undefined ? {} : { status: o.status }),
  };
}

const LABELS = { istio: 'egressgateway', app: 'istio-egressgateway' };
const gatewayPod = (sidecar: boolean): Resource[] => [
  r('Service', 'istio-system', 'istio-egressgateway', { selector: LABELS, ports: [{ name: 'http-80', appProtocol: 'http', port: 80, protocol: 'TCP' }, { name: 'https-443', appProtocol: 'tls', port: 443, protocol: 'TCP' }] }),
  r('Workload', 'istio-system', 'istio-egressgateway', { serviceAccount: 'istio-egressgateway-service-account', command: ['weft'], env: {}, ports: [{ name: 'http-80', containerPort: 80, protocol: 'TCP' }, { name: 'https-443', containerPort: 443, protocol: 'TCP' }] }, {
    labels: LABELS,
    annotations: sidecar ? {} : { 'sidecar.istio.io/inject': 'false' },
    status: { phase: 'Running', podIP: '198.18.0.99' },
  }),
];

const ENTRIES = [
  r('ServiceEntry', 'default', 'cnn', { hosts: ['edition.cnn.com'], location: 'MESH_EXTERNAL', resolution: 'DNS', ports: [{ number: 80, name: 'http-port', protocol: 'HTTP' }, { number: 443, name: 'tls', protocol: 'TLS' }] }),
  r('ServiceEntry', 'default', 'other', { hosts: ['other.example.com'], location: 'MESH_EXTERNAL', resolution: 'DNS', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] }),
];

const httpTask = (gatewayPort: number): Resource =>
  r('VirtualService', 'default', 'direct-cnn-through-egress-gateway', {
    hosts: ['edition.cnn.com'],
    gateways: ['istio-egressgateway', 'mesh'],
    http: [
      { match: [{ gateways: ['mesh'], port: 80 }], route: [{ destination: { host: GW, subset: 'cnn', port: { number: gatewayPort } } }] },
      { match: [{ gateways: ['istio-egressgateway'], port: gatewayPort }], route: [{ destination: { host: 'edition.cnn.com', port: { number: 80 } } }] },
    ],
    tls: [
      { match: [{ gateways: ['mesh'], port: 443, sniHosts: ['edition.cnn.com'] }], route: [{ destination: { host: GW, subset: 'cnn', port: { number: 443 } } }] },
    ],
  });

const mutualRule = r('DestinationRule', 'default', 'egressgateway-for-cnn', {
  host: GW,
  subsets: [{ name: 'cnn', trafficPolicy: { portLevelSettings: [{ port: { number: 443 }, tls: { mode: 'ISTIO_MUTUAL', sni: 'edition.cnn.com' } }] } }],
});

const mesh = (extra: Resource[], sidecar = false): Resource[] => [...gatewayPod(sidecar), ...ENTRIES, workload('default', 'curl'), ...extra];

test('the egress gateway pod is an endpoint on its own ports, plaintext unless a rule says ISTIO_MUTUAL', () => {
  const c = sidecarConfig(snapshot(mesh([httpTask(80)])), 'default', 'curl');
  const gw = c.outbound.services.find((s) => s.host === GW)!;
  const ep = gw.ports.find((p) => p.port === 443)!.endpoints[0]!;
  assert.deepEqual({ inboundPort: ep.inboundPort, targetPort: ep.targetPort, mtls: ep.mtls }, { inboundPort: 443, targetPort: 443, mtls: false });
  assert.equal(ep.spiffeId, 'spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway-service-account');
  // The same pod with a sidecar would be reached on the sidecar's inbound port with auto mTLS.
  const withSidecar = sidecarConfig(snapshot(mesh([httpTask(80)], true)), 'default', 'curl');
  const sep = withSidecar.outbound.services.find((s) => s.host === GW)!.ports[0]!.endpoints[0]!;
  assert.deepEqual({ inboundPort: sep.inboundPort, mtls: sep.mtls }, { inboundPort: 15006, mtls: true });
});

test('a mesh-bound route of a ServiceEntry host goes to the gateway service: HTTP by port, TLS by SNI', () => {
  const c = sidecarConfig(snapshot(mesh([httpTask(443), mutualRule])), 'default', 'curl');
  const routes = c.outbound.externalRoutes ?? [];
  const http = routes.find((x) => x.host === 'edition.cnn.com' && x.port === 80);
  assert.ok(http?.http, JSON.stringify(routes));
  assert.equal(http.http.length, 1, 'only the rule bound to the mesh');
  assert.deepEqual(http.http[0]!.destinations.map((d) => [d.host, d.port, d.subset]), [[GW, 443, 'cnn']]);
  const tls = routes.find((x) => x.host === 'edition.cnn.com' && x.port === 443);
  assert.equal(tls?.tls?.length, 1, JSON.stringify(routes));
  assert.equal(routes.some((x) => x.host === 'other.example.com'), false, 'a host no VirtualService claims keeps its own destination');
  const cluster = c.outbound.services.find((s) => s.host === GW)!.ports.find((p) => p.port === 443)!.clusters!.find((k) => k.subset === 'cnn')!;
  assert.deepEqual([cluster.policy.tls?.mode, cluster.policy.tls?.sni], ['ISTIO_MUTUAL', 'edition.cnn.com']);
});

test('a host routed to the egress gateway leaves only through it, for every sidecar, never for the gateway', () => {
  const snap = snapshot(mesh([httpTask(80)]));
  assert.deepEqual(sidecarConfig(snap, 'default', 'curl').outbound.egressGatewayHosts, ['edition.cnn.com']);
  assert.equal(gatewayConfig(snap, 'istio-system').outbound.egressGatewayHosts, undefined);
  // A VirtualService exported only to its own namespace still closes the direct path for every other namespace.
  const hidden = { ...httpTask(80), spec: { ...(httpTask(80).spec as object), exportTo: ['.'] } };
  const other = sidecarConfig(snapshot(mesh([hidden, workload('elsewhere', 'client')])), 'elsewhere', 'client');
  assert.equal(other.outbound.externalRoutes, undefined);
  assert.deepEqual(other.outbound.egressGatewayHosts, ['edition.cnn.com']);
  // A route to a service whose pods have sidecars is no egress gateway.
  assert.equal(sidecarConfig(snapshot(mesh([httpTask(80)], true)), 'default', 'curl').outbound.egressGatewayHosts, undefined);
});

