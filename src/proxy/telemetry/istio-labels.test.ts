/**
 * Istio's standard metric labels from config and verified identities: canonical service and revision as Istio
 * derives them from pod labels, the caller named only among workloads that run as its verified identity, and both
 * reporters of one request agreeing on every label but those Istio itself reports differently.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { workloadMetadataOf } from '../../proxyconfig/telemetry-types.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { PeerTable } from './peer-table.js';
import { requestLabels } from './istio-labels.js';
import type { AccessLogEntry } from './access-log.js';

const TD = 'spiffe://cluster.local';

describe('workload metadata from pod labels (Istio canonical service rules)', () => {
  const cases: Array<[string, Record<string, string>, { app: string; version: string; canonicalService: string; canonicalRevision: string }]> = [
    ['app and version', { app: 'reviews', version: 'v2' }, { app: 'reviews', version: 'v2', canonicalService: 'reviews', canonicalRevision: 'v2' }],
    ['kubernetes recommended labels', { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': '1.4' }, { app: 'shop', version: '1.4', canonicalService: 'shop', canonicalRevision: '1.4' }],
    ['canonical labels win', { app: 'a', version: 'v1', 'service.istio.io/canonical-name': 'svc', 'service.istio.io/canonical-revision': 'r9' }, { app: 'a', version: 'v1', canonicalService: 'svc', canonicalRevision: 'r9' }],
    ['no labels: the workload name, latest', {}, { app: 'unknown', version: 'unknown', canonicalService: 'wl', canonicalRevision: 'latest' }],
  ];
  for (const [name, labels, want] of cases) {
    test(name, () => {
      const m = workloadMetadataOf('ns', 'wl', `${TD}/ns/ns/sa/x`, labels);
      assert.deepEqual({ app: m.app, version: m.version, canonicalService: m.canonicalService, canonicalRevision: m.canonicalRevision }, want);
    });
  }
});

const REVIEWS_SA = `${TD}/ns/default/sa/bookinfo-reviews`;
const RATINGS_SA = `${TD}/ns/default/sa/bookinfo-ratings`;
const workloads = [
  workloadMetadataOf('default', 'reviews-v2', REVIEWS_SA, { app: 'reviews', version: 'v2' }),
  workloadMetadataOf('default', 'reviews-v3', REVIEWS_SA, { app: 'reviews', version: 'v3' }),
  workloadMetadataOf('default', 'ratings-v1', RATINGS_SA, { app: 'ratings', version: 'v1' }),
];

function configOf(name: string, spiffeId: string, labels: Record<string, string>): ProxyConfig {
  return {
    proxy: { role: 'sidecar', namespace: 'default', name, spiffeId, labels },
    telemetry: { clusterId: 'Kubernetes', workloads },
  } as unknown as ProxyConfig;
}

const reviews = new PeerTable(configOf('reviews-v3', REVIEWS_SA, { app: 'reviews', version: 'v3' }));
const ratings = new PeerTable(configOf('ratings-v1', RATINGS_SA, { app: 'ratings', version: 'v1' }));
const RATINGS_FQDN = 'ratings.default.svc.cluster.local';

describe('the caller is named only among workloads of its verified identity', () => {
  test('a claimed name that runs as the verified identity', () => {
    assert.equal(ratings.peer(REVIEWS_SA, 'default/reviews-v2')?.name, 'reviews-v2');
  });
  test('a claimed name of another identity is not believed; a shared identity alone names no one', () => {
    assert.equal(ratings.peer(REVIEWS_SA, 'default/ratings-v1'), undefined);
    assert.equal(ratings.peer(REVIEWS_SA, undefined), undefined);
  });
  test('an identity only one workload runs as needs no name', () => {
    assert.equal(reviews.peer(RATINGS_SA, 'default/invented')?.name, 'ratings-v1');
  });
  test('no verified identity: no caller, whatever was claimed', () => {
    assert.equal(ratings.peer(undefined, 'default/reviews-v2'), undefined);
  });
  test('an identity the table does not list (a gateway) is named by its service account', () => {
    const gw = ratings.peer(`${TD}/ns/weft-system/sa/weft-ingressgateway`, undefined);
    assert.deepEqual([gw?.name, gw?.namespace, gw?.app, gw?.canonicalService, gw?.canonicalRevision], ['weft-ingressgateway', 'weft-system', 'weft-ingressgateway', 'weft-ingressgateway', 'latest']);
  });
});

describe('both reporters of one request', () => {
  const base: AccessLogEntry = { direction: 'outbound', method: 'GET', authority: 'ratings:9080', path: '/ratings/0', status: 200, durationMs: 3, destinationService: RATINGS_FQDN };
  const source = requestLabels({ ...base, upstream: 'default/ratings-v1', mtls: true, upstreamPrincipal: RATINGS_SA }, reviews);
  const destination = requestLabels({ ...base, direction: 'inbound', peer: REVIEWS_SA, peerWorkload: 'default/reviews-v3', mtls: true }, ratings);

  test('agree on every label but reporter and the source-side connection_security_policy, as in Istio', () => {
    const { reporter: r1, connection_security_policy: c1, ...s } = source;
    const { reporter: r2, connection_security_policy: c2, ...d } = destination;
    assert.deepEqual(s, d);
    assert.deepEqual([r1, c1, r2, c2], ['source', 'unknown', 'destination', 'mutual_tls']);
  });

  test('carry Istio values', () => {
    assert.deepEqual(destination, {
      reporter: 'destination',
      source_workload: 'reviews-v3',
      source_canonical_service: 'reviews',
      source_canonical_revision: 'v3',
      source_workload_namespace: 'default',
      source_principal: REVIEWS_SA,
      source_app: 'reviews',
      source_version: 'v3',
      source_cluster: 'Kubernetes',
      destination_workload: 'ratings-v1',
      destination_workload_namespace: 'default',
      destination_principal: RATINGS_SA,
      destination_app: 'ratings',
      destination_version: 'v1',
      destination_service: RATINGS_FQDN,
      destination_canonical_service: 'ratings',
      destination_canonical_revision: 'v1',
      destination_service_name: 'ratings',
      destination_service_namespace: 'default',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
      response_code: '200',
      grpc_response_status: '',
    });
  });

  test('plaintext: no principals, connection_security_policy none', () => {
    const l = requestLabels({ ...base, direction: 'inbound', mtls: false }, ratings);
    assert.deepEqual([l.source_principal, l.destination_principal, l.source_workload, l.connection_security_policy], ['unknown', 'unknown', 'unknown', 'none']);
  });

  test('destinations outside the registry are Istio pseudo-clusters; a ServiceEntry host names itself in its namespace', () => {
    const denied = requestLabels({ ...base, destinationService: undefined, status: 502, egress: { decision: 'denied', protocol: 'http' } }, reviews);
    assert.deepEqual([denied.destination_service, denied.destination_service_name, denied.destination_workload], ['BlackHoleCluster', 'BlackHoleCluster', 'unknown']);
    const pass = requestLabels({ ...base, destinationService: undefined, egress: { decision: 'passthrough', protocol: 'http' } }, reviews);
    assert.equal(pass.destination_service, 'PassthroughCluster');
    const se = requestLabels({ ...base, destinationService: 'api.example.com', egress: { decision: 'external', protocol: 'http', serviceEntry: 'egress/example' } }, reviews);
    assert.deepEqual([se.destination_service, se.destination_service_name, se.destination_service_namespace], ['api.example.com', 'api.example.com', 'egress']);
  });

  test('response flags and gRPC status as recorded', () => {
    const l = requestLabels({ ...base, status: 503, responseFlags: 'UF,URX', protocol: 'grpc', grpcStatus: 14 }, reviews);
    assert.deepEqual([l.response_flags, l.request_protocol, l.grpc_response_status], ['UF,URX', 'grpc', '14']);
  });
});

describe('an egress gateway names the caller it verified as the source', () => {
  const GW_SA = `${TD}/ns/istio-system/sa/istio-egressgateway-service-account`;
  const gateway = new PeerTable({
    proxy: { role: 'gateway', namespace: 'istio-system', name: 'istio-egressgateway', spiffeId: GW_SA, labels: { istio: 'egressgateway', app: 'istio-egressgateway' } },
    telemetry: { clusterId: 'Kubernetes', workloads },
  } as unknown as ProxyConfig);
  const call: AccessLogEntry = { direction: 'gateway', method: 'GET', authority: 'edition.cnn.com', path: '/', status: 200, durationMs: 1, destinationService: 'edition.cnn.com' };
  test('a verified peer: the caller is the source workload and principal', () => {
    const l = requestLabels({ ...call, peer: RATINGS_SA }, gateway);
    assert.deepEqual([l.reporter, l.source_workload, l.source_workload_namespace, l.source_principal], ['source', 'ratings-v1', 'default', RATINGS_SA]);
  });
  test('no verified peer (a plaintext hop): the gateway itself, as Istio names it', () => {
    const l = requestLabels(call, gateway);
    assert.deepEqual([l.source_workload, l.source_principal], ['istio-egressgateway', 'unknown']);
  });
});
