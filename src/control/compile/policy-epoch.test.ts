import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { buildSnapshot } from './snapshot.js';
import type { MeshSnapshot } from './snapshot.js';
import { compileProxyConfigParts } from './index.js';
import type { CompiledProxyConfig, ProxyNode } from './index.js';
import { epochOf } from './snapshot-memo.js';
import { BOOT, CIDR, MESH, service, sidecar, workload } from './outbound.fixture.js';

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

const clone = (r: Resource): Resource => structuredClone(r);
const keyOf = (r: Resource): string => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;

/** The mesh as the resource mirror holds it: frozen objects, the same object while a resource is unchanged. */
class Mirror {
  #byKey = new Map<string, Resource>();
  constructor(resources: Resource[]) {
    for (const r of resources) this.put(r);
  }
  put(r: Resource): void {
    this.#byKey.set(keyOf(r), deepFreeze(clone(r)));
  }
  remove(key: string): void {
    this.#byKey.delete(key);
  }
  get(key: string): Resource {
    return clone(this.#byKey.get(key) as Resource);
  }
  list(): Resource[] {
    return [...this.#byKey.values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  }
}

const NODES: ProxyNode[] = [
  { role: 'sidecar', namespace: 'prod-us1', name: 'productpage', serviceAccount: 'productpage' },
  { role: 'sidecar', namespace: 'prod-us1', name: 'ratings', serviceAccount: 'ratings' },
  { role: 'sidecar', namespace: 'shop', name: 'cart', serviceAccount: 'cart' },
  // Selected by the Service the steps change: its inbound side must follow the Service's ports.
  { role: 'sidecar', namespace: 'prod-us1', name: 'reviews', serviceAccount: 'reviews' },
];

const json = (c: CompiledProxyConfig): string => c.jsonParts.map((p) => (typeof p === 'string' ? p : p.json)).join('');

// Each step changes the mirror; compiles from the chain of frozen snapshots must equal a compile from scratch.
const STEPS: { name: string; policy: boolean; change: (m: Mirror) => void }[] = [
  { name: 'a Service gains a port', policy: false, change: (m) => m.put(service('prod-us1', 'reviews', [9080, 9090, 9191])) },
  {
    name: 'a Workload gets another pod IP',
    policy: false,
    change: (m) => {
      const w = m.get('Workload/prod-us1/reviews');
      m.put({ ...w, status: { phase: 'Running', podIP: '198.18.9.9' } });
    },
  },
  { name: 'a Workload is added behind a Service', policy: false, change: (m) => m.put(workload('prod-us1', 'reviews-v2', { app: 'reviews' })) },
  { name: 'a Workload stops being ready', policy: false, change: (m) => m.put({ ...m.get('Workload/prod-us1/reviews-v2'), status: { phase: 'Pending' } }) },
  {
    name: 'a PeerAuthentication disables mTLS',
    policy: true,
    change: (m) => m.put({ apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { namespace: 'prod-us1', name: 'off', labels: {}, annotations: {} }, spec: { mtls: { mode: 'DISABLE' } } } as unknown as Resource),
  },
  { name: 'a Sidecar narrows what ratings sees', policy: true, change: (m) => m.put(sidecar('prod-us1', 'ratings', { workloadSelector: { labels: { app: 'ratings' } }, egress: [{ hosts: ['./reviews.prod-us1.svc.cluster.local'] }] })) },
  { name: 'nothing changes', policy: false, change: () => undefined },
  {
    name: 'a VirtualService bound to the mesh routes reviews to ratings',
    policy: true,
    change: (m) =>
      m.put({
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { namespace: 'prod-us1', name: 'reviews', labels: {}, annotations: {} },
        spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'ratings' } }] }] },
      } as unknown as Resource),
  },
  // The route's destination port comes from ratings' ports: reviews' entry must follow them.
  { name: 'the route destination gains a port', policy: false, change: (m) => m.put(service('prod-us1', 'ratings', [9080, 9081])) },
  { name: 'the route destination loses a port', policy: false, change: (m) => m.put(service('prod-us1', 'ratings', [9081])) },
  { name: 'a Service is removed', policy: false, change: (m) => m.remove('Service/prod-us1/reviews') },
];

test('compiles across snapshots of one policy epoch equal a compile from scratch, step after step', () => {
  const mirror = new Mirror(MESH);
  let before: MeshSnapshot = buildSnapshot(mirror.list(), 1, BOOT, new Map(), { serviceCidr: CIDR });
  let previous = NODES.map((n) => compileProxyConfigParts(before, n));
  for (const [i, step] of STEPS.entries()) {
    step.change(mirror);
    const snap = buildSnapshot(mirror.list(), i + 2, BOOT, new Map(), { serviceCidr: CIDR });
    assert.equal(epochOf(snap) !== epochOf(before), step.policy, `${step.name}: a new epoch exactly when policy changed`);
    const fresh = buildSnapshot(mirror.list().map(clone), i + 2, BOOT, new Map(), { serviceCidr: CIDR });
    const compiled = NODES.map((n) => compileProxyConfigParts(snap, n));
    for (const [k, node] of NODES.entries()) {
      const expected = compileProxyConfigParts(fresh, node);
      assert.equal(json(compiled[k] as CompiledProxyConfig), json(expected), `${step.name}: ${node.name}`);
      assert.equal(compiled[k]?.config.version, expected.config.version, `${step.name}: ${node.name}'s version`);
    }
    if (step.name === 'a Service gains a port') {
      assert.notEqual(compiled[0]?.config.version, previous[0]?.config.version, 'the change reaches productpage');
      assert.equal(compiled[2]?.sections.security, previous[2]?.sections.security, 'the security section is kept');
      assert.equal(compiled[2]?.sections.head, previous[2]?.sections.head, 'the head of a proxy the Service does not select is kept');
      assert.notEqual(compiled[3]?.sections.head, previous[3]?.sections.head, 'the head of the workload the Service selects lists its new port');
    }
    if (step.name === 'nothing changes') {
      for (const [k, c] of compiled.entries()) assert.equal(c.sections.outbound, previous[k]?.sections.outbound, 'an unchanged outbound section is the same object');
    }
    before = snap;
    previous = compiled;
  }
});

test('objects that can change are never trusted by identity: a Service edited in place between snapshots compiles anew', () => {
  const mesh = MESH.map(clone);
  const node = NODES[0] as ProxyNode;
  const a = buildSnapshot(mesh, 1, BOOT, new Map(), { serviceCidr: CIDR });
  const before = compileProxyConfigParts(a, node);
  const reviews = mesh.find((r) => keyOf(r) === 'Service/prod-us1/reviews') as Resource;
  (reviews.spec as { ports: unknown[] }).ports.push({ name: 'http-9191', port: 9191, protocol: 'TCP' });
  const b = buildSnapshot(mesh, 2, BOOT, new Map(), { serviceCidr: CIDR });
  assert.notEqual(a.registry.services[0], b.registry.services[0]);
  const after = compileProxyConfigParts(b, node);
  assert.deepEqual(
    after.config.outbound.services.find((s) => s.host === 'reviews.prod-us1.svc.cluster.local')?.ports.map((p) => p.port),
    [9080, 9090, 9191],
  );
  assert.notEqual(after.config.version, before.config.version);
});

test('frozen resources keep their registry objects and the epoch; other JWKS documents or settings start a new one', () => {
  const frozen = MESH.map((r) => deepFreeze(clone(r)));
  const a = buildSnapshot(frozen, 1, BOOT);
  const b = buildSnapshot(frozen, 2, BOOT);
  assert.equal(epochOf(a), epochOf(b));
  assert.equal(a.registry.services[0], b.registry.services[0]);
  const c = buildSnapshot(frozen, 3, BOOT, new Map([['https://issuer.example/jwks', '{"keys":[]}']]));
  assert.notEqual(epochOf(c), epochOf(b));
  const d = buildSnapshot(frozen, 4, { ...BOOT, trustDomain: 'other.example' }, new Map([['https://issuer.example/jwks', '{"keys":[]}']]));
  assert.notEqual(epochOf(d), epochOf(c));
});

test('an epoch keeps what the last snapshot used and drops the rest, so workloads that come and go do not pile up', () => {
  const frozen = MESH.map((r) => deepFreeze(clone(r)));
  const [productpage, ratings] = NODES as [ProxyNode, ProxyNode];
  const snap = (revision: number): MeshSnapshot => buildSnapshot(frozen, revision, BOOT, new Map(), { serviceCidr: CIDR });
  const first = compileProxyConfigParts(snap(1), productpage).sections.security;
  const onlyRatings = compileProxyConfigParts(snap(2), ratings).sections.security;
  // Snapshot 3 follows one that compiled ratings alone: productpage's section was dropped, ratings' kept.
  const s3 = snap(3);
  assert.equal(compileProxyConfigParts(s3, ratings).sections.security, onlyRatings);
  const again = compileProxyConfigParts(s3, productpage).sections.security;
  assert.notEqual(again, first);
  assert.equal(again.json, first.json);
});
