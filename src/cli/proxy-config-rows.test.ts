/** proxy-config tables on bookinfo's sidecar config, compiled as the control plane compiles it, and a proxy's report. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadResources } from '../config/load.js';
import type { Resource } from '../config/resource.js';
import type { RunningProxyConfig } from '../control/api/proxy-config-routes.js';
import type { ProxyStatus } from '../control/push-server.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';
import { sidecarConfigFrom } from '../route-check/config-source.js';
import { clusterTable, endpointTable, heading, listenerTable, renderTable, routeTable, secretTable } from './proxy-config-rows.js';

const repo = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

async function bookinfo(...extra: Resource[]): Promise<RunningProxyConfig['config']> {
  const files = ['examples/bookinfo/bookinfo.yaml', 'examples/bookinfo/networking/destination-rule-all.yaml', 'examples/bookinfo/networking/virtual-service-reviews-test-v2.yaml'];
  const rs = [...(await loadResources(files.map(repo))).map((l) => l.resource), ...extra];
  return sidecarConfigFrom(rs, 'default', 'productpage-v1').raw;
}

const REVIEWS_V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

test('routes: one row per match entry, the default route, and 404 when a VirtualService leaves no rule', async () => {
  const narrow = {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'details', namespace: 'default', labels: {}, annotations: {} },
    spec: { hosts: ['details'], http: [{ match: [{ port: 1234 }], route: [{ destination: { host: 'details' } }] }] },
  } as Resource;
  const t = routeTable(await bookinfo(narrow));
  const rows = (vhost: string): string[][] => t.rows.filter((r) => r[1] === vhost).map((r) => [r[3]!, r[4]!]);
  assert.deepEqual(rows('reviews.default.svc.cluster.local:9080'), [['header end-user exact "jason"', 'default/reviews'], ['/*', 'default/reviews']]);
  assert.deepEqual(rows('ratings.default.svc.cluster.local:9080'), [['/* (default route)', '-']]);
  assert.deepEqual(rows('details.default.svc.cluster.local:9080'), [['(none: 404 NR)', '-']]);
  assert.match(renderTable(t), /^NAME +VHOST NAME +DOMAINS +MATCH +VIRTUAL SERVICE\n/);
});

test('clusters: the DestinationRule subsets, defaults without one, the catch-all and inbound ports', async () => {
  const t = clusterTable(await bookinfo());
  const has = (row: string[]): boolean => t.rows.some((r) => r.join('|') === row.join('|'));
  assert.ok(has(['reviews.default.svc.cluster.local', '9080', 'v2', 'outbound', 'EDS', 'default/reviews']));
  assert.ok(has(['reviews.default.svc.cluster.local', '9080', '-', 'outbound', 'EDS', 'default/reviews']));
  assert.ok(has(['BlackHoleCluster', '-', '-', '-', 'STATIC', '-']));
  assert.ok(has(['', '9080', '-', 'inbound', 'ORIGINAL_DST', '-']));
  assert.equal(t.rows.length, t.items.length);
  assert.ok(listenerTable(await bookinfo(), '198.18.0.9').rows.some((r) => r.join('|') === '198.18.0.9|15006|app port 9080; http; mTLS STRICT|Cluster: inbound|9080||'));
});

test('endpoints and secrets from the report; the heading names the ACK, a refused config and a proxy running another', async () => {
  const config = await bookinfo();
  // The files give pods no addresses: give reviews-v2's subset one, as the registry would.
  const reviews = config.outbound.services.find((s) => s.host === 'reviews.default.svc.cluster.local')!;
  const port = reviews.ports[0]!;
  port.endpoints.push({ address: '198.18.0.7', inboundPort: 15006, targetPort: 9080, spiffeId: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews', mtls: true, workload: 'default/reviews-v2' });
  port.clusters!.find((c) => c.name === REVIEWS_V2)!.endpoints.push('198.18.0.7');
  const breaker = { activeConnections: 0, pendingRequests: 0, activeRequests: 0, activeRetries: 0, overflows: { connections: 0, pending_requests: 0, requests: 0, retries: 0 } };
  const report: ProxyRuntimeReport = {
    configVersion: 'other',
    time: '2026-12-06T00:00:00.000Z',
    truncated: false,
    clusters: [{ name: REVIEWS_V2, outlierDetection: true, panic: false, breaker, endpoints: [{ address: '198.18.0.7', ejected: true, ejectedSince: '2026-12-06T00:00:00.000Z', timesEjected: 1, activeRequests: 0 }] }],
    certificates: [{ name: 'default', type: 'Cert Chain', serialNumber: 'ab12', notBefore: '2026-12-06T00:00:00.000Z', notAfter: '2026-12-07T00:00:00.000Z', subject: '', issuer: 'O=weft', subjectAltNames: ['URI:spiffe://cluster.local/ns/default/sa/bookinfo-productpage'] }],
  };
  assert.deepEqual(endpointTable(config, report).rows.filter((r) => r[3] === REVIEWS_V2), [['198.18.0.7:15006', 'HEALTHY', 'FAILED', REVIEWS_V2]]);
  assert.deepEqual(secretTable(report, Date.parse('2026-12-06T12:00:00.000Z')).rows, [['default', 'Cert Chain', 'ACTIVE', 'true', 'ab12', '2026-12-07T00:00:00.000Z', '2026-12-06T00:00:00.000Z']]);
  assert.equal(secretTable(report, Date.parse('2026-12-08T00:00:00.000Z')).rows[0]![3], 'false');

  const running: RunningProxyConfig = {
    proxy: { id: 'sidecar/default/productpage-v1' } as ProxyStatus,
    ackedAt: '2026-12-06T00:00:01.000Z',
    config,
    nacked: { version: 'bad', reason: 'invalid config at outbound', at: '2026-12-06T00:00:02.000Z' },
  };
  assert.deepEqual(heading(running, report), [
    `# sidecar/default/productpage-v1: config ${config.version}, ACKed 2026-12-06T00:00:01.000Z`,
    '# refused config bad at 2026-12-06T00:00:02.000Z: invalid config at outbound; running the last good one',
    '# the proxy reports running config other: a push is under way',
  ]);
});
