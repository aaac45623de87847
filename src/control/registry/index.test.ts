import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { buildRegistry, selects, servicesOf, targetPortOn, workloadsOf } from './index.js';
import type { RegistryServicePort, RegistryWorkload } from './index.js';

// Kubernetes label selector semantics (matchLabels: every pair present), and the Kubernetes rule that a Service
// without a selector selects no pods.
const selectorRows: Array<{ name: string; selector: Record<string, string> | undefined; labels: Record<string, string>; want: boolean }> = [
  { name: 'all pairs present', selector: { app: 'reviews' }, labels: { app: 'reviews', version: 'v1' }, want: true },
  { name: 'two pairs both present', selector: { app: 'reviews', version: 'v1' }, labels: { app: 'reviews', version: 'v1' }, want: true },
  { name: 'one pair differs', selector: { app: 'reviews', version: 'v2' }, labels: { app: 'reviews', version: 'v1' }, want: false },
  { name: 'key missing', selector: { tier: 'web' }, labels: { app: 'reviews' }, want: false },
  { name: 'undefined selector selects nothing', selector: undefined, labels: { app: 'reviews' }, want: false },
  { name: 'empty selector selects nothing', selector: {}, labels: { app: 'reviews' }, want: false },
  { name: 'values are case-sensitive', selector: { app: 'Reviews' }, labels: { app: 'reviews' }, want: false },
];

describe('selects', () => {
  for (const row of selectorRows) test(row.name, () => assert.equal(selects(row.selector, row.labels), row.want));
});

const W: RegistryWorkload = {
  namespace: 'default',
  name: 'reviews-v1',
  labels: { app: 'reviews' },
  serviceAccount: 'reviews',
  ports: [
    { name: 'http-api', containerPort: 8081, protocol: 'http' },
    { name: 'metrics', containerPort: 9102, protocol: 'http' },
  ],
  podIP: '10.0.0.1',
  ready: true,
  sidecar: true,
};
const sp = (targetPort: number | string | undefined): RegistryServicePort => ({ name: 'http', port: 9080, targetPort, protocol: 'http' });

describe('targetPortOn: Kubernetes targetPort', () => {
  const rows: Array<[number | string | undefined, number | undefined]> = [
    [undefined, 9080],
    [8081, 8081],
    [7000, 7000],
    ['http-api', 8081],
    ['metrics', 9102],
    ['missing', undefined],
  ];
  for (const [target, want] of rows) test(`targetPort ${String(target)} → ${String(want)}`, () => assert.equal(targetPortOn(W, sp(target)), want));
});

function res(kind: string, namespace: string, name: string, spec: unknown, labels: Record<string, string> = {}, status?: unknown): Resource {
  return { apiVersion: 'v1', kind, metadata: { namespace, name, labels, annotations: {} }, spec, ...(status === undefined ? {} : { status }) };
}

describe('buildRegistry', () => {
  const resources: Resource[] = [
    res('Service', 'default', 'reviews', { selector: { app: 'reviews' }, ports: [{ name: 'grpc-api', port: 9080, targetPort: 'http-api', protocol: 'TCP' }, { port: 80, protocol: 'TCP', appProtocol: 'http2' }] }),
    res('Service', 'other', 'reviews', { selector: { app: 'reviews' }, ports: [{ port: 9080, protocol: 'TCP' }] }),
    res('Service', 'default', 'headless', { ports: [{ port: 1, protocol: 'TCP' }] }),
    res('Workload', 'default', 'reviews-v1', { serviceAccount: 'reviews', command: ['x'], env: {}, ports: [{ name: 'http-api', containerPort: 8081, protocol: 'TCP' }] }, { app: 'reviews' }, { phase: 'Running', podIP: '10.0.0.1' }),
    res('Workload', 'default', 'reviews-v2', { serviceAccount: 'reviews', command: ['x'], env: {}, ports: [] }, { app: 'reviews' }, { phase: 'Running' }),
    res('Workload', 'default', 'reviews-v3', { serviceAccount: 'reviews', command: ['x'], env: {}, ports: [] }, { app: 'reviews' }, { phase: 'Restarting', podIP: '10.0.0.3' }),
    res('Workload', 'default', 'reviews-v4', { serviceAccount: 'reviews', command: ['x'], env: {}, ports: [] }, { app: 'reviews' }),
    res('DestinationRule', 'default', 'ignored', {}),
  ];
  const reg = buildRegistry(resources);

  test('services with FQDN hosts, ports with protocols and raw targetPorts', () => {
    const s = reg.services[0];
    assert.equal(s?.host, 'reviews.default.svc.cluster.local');
    assert.deepEqual(s?.ports, [
      { name: 'grpc-api', port: 9080, targetPort: 'http-api', protocol: 'grpc' },
      { name: '', port: 80, targetPort: undefined, protocol: 'http2' },
    ]);
    assert.deepEqual(reg.services.map((x) => x.host), ['reviews.default.svc.cluster.local', 'reviews.other.svc.cluster.local', 'headless.default.svc.cluster.local']);
  });

  test('ready only when Running with an address', () => {
    assert.deepEqual(reg.workloads.map((w) => [w.name, w.ready, w.podIP]), [
      ['reviews-v1', true, '10.0.0.1'],
      ['reviews-v2', false, undefined],
      ['reviews-v3', false, '10.0.0.3'],
      ['reviews-v4', false, undefined],
    ]);
  });

  test('services and workloads meet only within one namespace', () => {
    const w = reg.workloads[0]!;
    assert.deepEqual(servicesOf(reg, w).map((s) => s.host), ['reviews.default.svc.cluster.local']);
    assert.equal(workloadsOf(reg, reg.services[1]!).length, 0);
    assert.equal(workloadsOf(reg, reg.services[0]!).length, 4);
    assert.equal(workloadsOf(reg, reg.services[2]!).length, 0);
  });

  test('the same resources give the same registry', () => {
    assert.deepEqual(buildRegistry(structuredClone(resources)), reg);
  });
});
