import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import { isWeftError } from '../../errors.js';
import { SIDECAR_INBOUND_PORT } from '../../proxyconfig/types.js';
import type { OutboundService, ProxyConfig } from '../../proxyconfig/types.js';
import { buildSnapshot } from './snapshot.js';
import { compileProxyConfig, compileProxyConfigParts } from './index.js';
import type { ProxyNode } from './index.js';

const BOOT = { ...meshConfigWithDefaults({ trustDomain: 'example.org' }), rootNamespace: 'weft-system' };

function resource(kind: string, namespace: string, name: string, spec: unknown, extra: { labels?: Record<string, string>; status?: unknown; created?: string } = {}): Resource {
  return {
    apiVersion: kind === 'Service' ? 'v1' : 'weft.dev/v1alpha1',
    kind,
    metadata: { namespace, name, labels: extra.labels ?? {}, annotations: {}, creationTimestamp: extra.created ?? '2024-01-01T00:00:00Z' } as Resource['metadata'],
    spec,
    ...(extra.status === undefined ? {} : { status: extra.status }),
  };
}

type PortSpec = { name?: string; port: number; targetPort?: number | string; appProtocol?: string };
const service = (namespace: string, name: string, selector: Record<string, string>, ports: PortSpec[]): Resource =>
  resource('Service', namespace, name, { selector, ports: ports.map((p) => ({ protocol: 'TCP', ...p })) });

function workload(namespace: string, name: string, labels: Record<string, string>, ports: { name?: string; containerPort: number }[], status: unknown = { phase: 'Running', podIP: `10.0.0.${name.length}` }, serviceAccount = name): Resource {
  return resource('Workload', namespace, name, { serviceAccount, command: ['app'], env: {}, ports: ports.map((p) => ({ protocol: 'TCP', ...p })) }, { labels, status });
}
const peerAuthn = (namespace: string, name: string, spec: unknown): Resource => resource('PeerAuthentication', namespace, name, spec);

function compile(resources: Resource[], node: Partial<ProxyNode> & { namespace: string; name: string }): ProxyConfig {
  return compileProxyConfig(buildSnapshot(resources, 1, BOOT), { role: 'sidecar', serviceAccount: node.name, ...node });
}
function svc(config: ProxyConfig, host: string): OutboundService {
  const s = config.outbound.services.find((x) => x.host === host);
  assert.ok(s, `no outbound service ${host}`);
  return s;
}

// A small bookinfo-like mesh: reviews has two ready pods and one that is not running yet.
const MESH: Resource[] = [
  service('default', 'productpage', { app: 'productpage' }, [{ name: 'http', port: 9080 }]),
  service('default', 'reviews', { app: 'reviews' }, [{ name: 'http', port: 9080, targetPort: 'http-api' }, { name: 'grpc-admin', port: 9090, targetPort: 15000 }]),
  service('other', 'ratings', { app: 'ratings' }, [{ name: 'http', port: 80, targetPort: 8080 }]),
  workload('default', 'productpage', { app: 'productpage' }, [{ name: 'http', containerPort: 9080 }]),
  workload('default', 'reviews-v1', { app: 'reviews', version: 'v1' }, [{ name: 'http-api', containerPort: 8081 }], { phase: 'Running', podIP: '10.0.1.1' }, 'reviews'),
  workload('default', 'reviews-v2', { app: 'reviews', version: 'v2' }, [{ name: 'http-api', containerPort: 8082 }], { phase: 'Running', podIP: '10.0.1.2' }, 'reviews'),
  workload('default', 'reviews-v3', { app: 'reviews', version: 'v3' }, [{ name: 'http-api', containerPort: 8083 }], { phase: 'Pending' }, 'reviews'),
  workload('other', 'ratings', { app: 'ratings' }, [{ containerPort: 8080 }], { phase: 'Running', podIP: '10.0.2.1' }),
];

describe('compile outbound: aliases, endpoints, auto-mTLS', () => {
  const pp = compile(MESH, { namespace: 'default', name: 'productpage' });

  // Kubernetes DNS: a short name resolves in the caller's namespace only (the resolv.conf search path).
  const aliasRows: Array<{ host: string; want: string[] }> = [
    { host: 'reviews.default.svc.cluster.local', want: ['reviews', 'reviews.default', 'reviews.default.svc', 'reviews.default.svc.cluster.local'] },
    { host: 'ratings.other.svc.cluster.local', want: ['ratings.other', 'ratings.other.svc', 'ratings.other.svc.cluster.local'] },
  ];
  for (const row of aliasRows) {
    test(`aliases of ${row.host} from namespace default`, () => {
      assert.deepEqual(svc(pp, row.host).aliases, row.want);
    });
  }

  test('from namespace other, the short name belongs to ratings, not reviews', () => {
    const r = compile(MESH, { namespace: 'other', name: 'ratings' });
    assert.ok(svc(r, 'ratings.other.svc.cluster.local').aliases.includes('ratings'));
    assert.ok(!svc(r, 'reviews.default.svc.cluster.local').aliases.includes('reviews'));
  });

  test('named targetPort resolves per workload; only ready workloads are endpoints', () => {
    const http = svc(pp, 'reviews.default.svc.cluster.local').ports.find((p) => p.port === 9080);
    assert.ok(http);
    assert.deepEqual(
      http.endpoints.map((e) => [e.workload, e.address, e.targetPort, e.inboundPort]),
      [
        ['default/reviews-v1', '10.0.1.1', 8081, SIDECAR_INBOUND_PORT],
        ['default/reviews-v2', '10.0.1.2', 8082, SIDECAR_INBOUND_PORT],
      ],
    );
    assert.equal(http.endpoints[0]?.spiffeId, 'spiffe://example.org/ns/default/sa/reviews');
  });

  test('numeric targetPort, absent targetPort, and protocol from the port name', () => {
    const reviews = svc(pp, 'reviews.default.svc.cluster.local');
    assert.deepEqual(reviews.ports.map((p) => [p.port, p.protocol, p.endpoints.map((e) => e.targetPort)]), [
      [9080, 'http', [8081, 8082]],
      [9090, 'grpc', [15000, 15000]],
    ]);
    assert.deepEqual(svc(pp, 'productpage.default.svc.cluster.local').ports[0]?.endpoints.map((e) => e.targetPort), [9080]);
    assert.deepEqual(svc(pp, 'ratings.other.svc.cluster.local').ports[0]?.endpoints.map((e) => e.targetPort), [8080]);
  });

  test('a named targetPort a workload lacks gives no endpoint for it', () => {
    const mesh = [...MESH, workload('default', 'reviews-v4', { app: 'reviews' }, [{ name: 'web', containerPort: 7000 }], { phase: 'Running', podIP: '10.0.1.4' }, 'reviews')];
    const http = svc(compile(mesh, { namespace: 'default', name: 'productpage' }), 'reviews.default.svc.cluster.local').ports[0];
    assert.deepEqual(http?.endpoints.map((e) => e.workload), ['default/reviews-v1', 'default/reviews-v2']);
  });

  // Auto mTLS (istio.io docs, "Mutual TLS Migration" / DestinationRule auto mTLS): plaintext only to a DISABLE port.
  const mtlsRows: Array<{ name: string; policies: Resource[]; want: Record<string, boolean> }> = [
    { name: 'no policy: mTLS everywhere', policies: [], want: { 'reviews-v1': true, 'reviews-v2': true } },
    { name: 'PERMISSIVE still gets mTLS', policies: [peerAuthn('default', 'default', { mtls: { mode: 'PERMISSIVE' } })], want: { 'reviews-v1': true, 'reviews-v2': true } },
    { name: 'namespace DISABLE: plaintext', policies: [peerAuthn('default', 'default', { mtls: { mode: 'DISABLE' } })], want: { 'reviews-v1': false, 'reviews-v2': false } },
    {
      name: 'DISABLE for one workload only',
      policies: [peerAuthn('default', 'v2', { selector: { matchLabels: { version: 'v2' } }, mtls: { mode: 'DISABLE' } })],
      want: { 'reviews-v1': true, 'reviews-v2': false },
    },
    {
      name: 'port-level DISABLE on the target port, not the service port',
      policies: [peerAuthn('default', 'v1', { selector: { matchLabels: { version: 'v1' } }, portLevelMtls: { '8081': { mode: 'DISABLE' }, '9080': { mode: 'STRICT' } } })],
      want: { 'reviews-v1': false, 'reviews-v2': true },
    },
  ];
  for (const row of mtlsRows) {
    test(`mtls flag: ${row.name}`, () => {
      const http = svc(compile([...MESH, ...row.policies], { namespace: 'default', name: 'productpage' }), 'reviews.default.svc.cluster.local').ports[0];
      const got = Object.fromEntries((http?.endpoints ?? []).map((e) => [e.workload.split('/')[1], e.mtls]));
      assert.deepEqual(got, row.want);
    });
  }
});

describe('compile inbound', () => {
  test('app ports with their modes, service ports mapped to target ports, extra port-level ports', () => {
    const mesh = [...MESH, peerAuthn('default', 'v1', { selector: { matchLabels: { version: 'v1' } }, mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { '8081': { mode: 'STRICT' }, '9999': { mode: 'DISABLE' } } })];
    const c = compile(mesh, { namespace: 'default', name: 'reviews-v1', serviceAccount: 'reviews' });
    assert.deepEqual(c.inbound, {
      defaultMode: 'PERMISSIVE',
      ports: [
        { port: 8081, name: 'http-api', protocol: 'http', mode: 'STRICT' },
        { port: 9999, name: '', protocol: 'http', mode: 'DISABLE' },
      ],
      servicePorts: [
        { host: 'reviews.default.svc.cluster.local', port: 9080, targetPort: 8081 },
        { host: 'reviews.default.svc.cluster.local', port: 9090, targetPort: 15000 },
      ],
    });
  });

  test('a workload selected by no service has no service ports', () => {
    const mesh = [...MESH, workload('default', 'lonely', { app: 'lonely' }, [{ containerPort: 80 }])];
    assert.deepEqual(compile(mesh, { namespace: 'default', name: 'lonely' }).inbound?.servicePorts, []);
  });
});

describe('compileProxyConfig: identity and versions', () => {
  test('sidecar identity comes from the Workload; a wrong service account is refused', () => {
    const c = compile(MESH, { namespace: 'default', name: 'reviews-v1', serviceAccount: 'reviews' });
    assert.equal(c.proxy.spiffeId, 'spiffe://example.org/ns/default/sa/reviews');
    assert.deepEqual(c.proxy.labels, { app: 'reviews', version: 'v1' });
    assert.throws(() => compile(MESH, { namespace: 'default', name: 'reviews-v1', serviceAccount: 'productpage' }), (e: unknown) => isWeftError(e, 'FORBIDDEN'));
    assert.throws(() => compile(MESH, { namespace: 'default', name: 'ghost' }), (e: unknown) => isWeftError(e, 'NOT_FOUND'));
  });

  test('identical input gives an identical version, whatever the store revision', () => {
    const a = compileProxyConfig(buildSnapshot(MESH, 1, BOOT), { role: 'sidecar', namespace: 'default', name: 'productpage', serviceAccount: 'productpage' });
    const b = compileProxyConfig(buildSnapshot(structuredClone(MESH), 7, BOOT), { role: 'sidecar', namespace: 'default', name: 'productpage', serviceAccount: 'productpage' });
    assert.equal(a.version, b.version);
    assert.deepEqual(a, b);
  });

  const changes: Array<{ name: string; mesh: Resource[] }> = [
    { name: 'a pod becomes ready', mesh: MESH.map((r) => (r.metadata.name === 'reviews-v3' ? { ...r, status: { phase: 'Running', podIP: '10.0.1.3' } } : r)) },
    { name: 'a pod address changes', mesh: MESH.map((r) => (r.metadata.name === 'reviews-v1' ? { ...r, status: { phase: 'Running', podIP: '10.0.9.9' } } : r)) },
    { name: 'a service port is added', mesh: [...MESH, service('default', 'details', { app: 'details' }, [{ port: 9080 }])] },
    { name: 'a PeerAuthentication disables mTLS', mesh: [...MESH, peerAuthn('default', 'default', { mtls: { mode: 'DISABLE' } })] },
    { name: 'a service is removed', mesh: MESH.filter((r) => !(r.kind === 'Service' && r.metadata.name === 'ratings')) },
    { name: 'an AuthorizationPolicy reaches it', mesh: [...MESH, resource('AuthorizationPolicy', 'default', 'deny-all', { action: 'DENY', rules: [{}] })] },
    { name: 'its own labels change', mesh: MESH.map((r) => (r.metadata.name === 'productpage' && r.kind === 'Workload' ? { ...r, metadata: { ...r.metadata, labels: { app: 'productpage', v: '2' } } } : r)) },
  ];
  const base = compile(MESH, { namespace: 'default', name: 'productpage' }).version;
  for (const c of changes) {
    test(`a change gives a new version: ${c.name}`, () => {
      assert.notEqual(compile(c.mesh, { namespace: 'default', name: 'productpage' }).version, base);
    });
  }

  test('the version is a 16-hex-digit content hash', () => {
    assert.match(base, /^[0-9a-f]{16}$/);
  });
});

describe('shared sections: compiled once per snapshot, same bytes for every proxy that shares them', () => {
  const mesh = [
    ...MESH,
    workload('default', 'productpage-2', { app: 'productpage' }, [{ name: 'http', containerPort: 9080 }], { phase: 'Running', podIP: '10.0.0.9' }, 'productpage'),
    resource('Gateway', 'other', 'gw', { selector: { istio: 'ingress', zone: 'a' }, servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }] }),
  ];
  const snap = buildSnapshot(mesh, 1, BOOT);
  const sidecar = (namespace: string, name: string, serviceAccount = name) => compileProxyConfigParts(snap, { role: 'sidecar', namespace, name, serviceAccount });
  const gateway = (name: string, labels: Record<string, string>) => compileProxyConfigParts(snap, { role: 'gateway', namespace: 'other', name, serviceAccount: 'gw', labels });
  const joined = (parts: ReturnType<typeof sidecar>['jsonParts']): string => parts.map((p) => (typeof p === 'string' ? p : p.json)).join('');

  test('the parts join to exactly the JSON of the config, for a sidecar and a gateway', () => {
    for (const c of [sidecar('default', 'reviews-v1', 'reviews'), gateway('gw-1', { istio: 'ingress', zone: 'a' })]) {
      assert.equal(joined(c.jsonParts), JSON.stringify(c.config));
      assert.deepEqual(JSON.parse(joined(c.jsonParts)), c.config);
    }
  });

  test('one outbound section per namespace, shared by object', () => {
    const a = sidecar('default', 'productpage');
    const b = sidecar('default', 'reviews-v1', 'reviews');
    const c = sidecar('other', 'ratings');
    assert.equal(a.config.outbound, b.config.outbound);
    assert.notEqual(a.config.outbound, c.config.outbound);
    assert.notDeepEqual(a.config.outbound, c.config.outbound);
    // The ports with their endpoints do not depend on the caller's namespace either.
    assert.equal(a.config.outbound.services[1]?.ports, c.config.outbound.services[1]?.ports);
  });

  test('replicas with the same labels share the security section and differ only in their own parts', () => {
    const a = sidecar('default', 'productpage');
    const b = sidecar('default', 'productpage-2', 'productpage');
    assert.equal(a.config.security, b.config.security);
    assert.notEqual(a.config.version, b.config.version);
  });

  test('gateways with the same labels, in any order, share one gateway section', () => {
    const a = gateway('gw-1', { istio: 'ingress', zone: 'a' });
    const b = gateway('gw-2', { zone: 'a', istio: 'ingress' });
    assert.equal(a.config.gateway, b.config.gateway);
    assert.equal(a.config.gateway?.servers[0]?.port, 80);
    assert.deepEqual(gateway('gw-3', { istio: 'ingress' }).config.gateway, { servers: [] });
  });

  test('the version does not depend on which snapshot object compiled it, nor on sharing', () => {
    const again = compileProxyConfigParts(buildSnapshot(structuredClone(mesh), 2, BOOT), { role: 'sidecar', namespace: 'default', name: 'productpage', serviceAccount: 'productpage' });
    assert.equal(again.config.version, sidecar('default', 'productpage').config.version);
    assert.equal(joined(again.jsonParts), joined(sidecar('default', 'productpage').jsonParts));
  });
});
