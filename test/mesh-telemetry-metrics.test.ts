/**
 * Istio's standard metrics on bookinfo, label by label: one page view through the ingress gateway is reported by
 * both ends of every hop (gateway → productpage → details, reviews → ratings) with the values Istio reports for
 * the same mesh, and both reporters agree on every label they share. And the access log of the same requests: JSON
 * by default, Envoy's default text format once MeshConfig asks for it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { parsePromText } from './support/prom-text.js';
import type { Sample } from './support/prom-text.js';

const SA = (ns: string, sa: string): string => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
const FQDN = (svc: string): string => `${svc}.default.svc.cluster.local`;

interface Side {
  workload: string;
  namespace: string;
  principal: string;
  app: string;
  version: string;
  canonicalRevision: string;
}
const bookinfo = (workload: string, app: string, version: string, sa: string): Side => ({ workload, namespace: 'default', principal: SA('default', sa), app, version, canonicalRevision: version });
const GATEWAY: Side = { workload: 'weft-ingressgateway', namespace: 'weft-system', principal: SA('weft-system', 'weft-ingressgateway'), app: 'weft-ingressgateway', version: 'unknown', canonicalRevision: 'latest' };
const PRODUCTPAGE = bookinfo('productpage-v1', 'productpage', 'v1', 'bookinfo-productpage');
const DETAILS = bookinfo('details-v1', 'details', 'v1', 'bookinfo-details');
const RATINGS = bookinfo('ratings-v1', 'ratings', 'v1', 'bookinfo-ratings');
const reviews = (v: string): Side => bookinfo(`reviews-${v}`, 'reviews', v, 'bookinfo-reviews');

/** What Istio reports for a successful mTLS request from `src` to `svc` served by `dst`, without reporter-specific labels. */
function istioLabels(src: Side, dst: Side, svc: string): Record<string, string> {
  return {
    source_workload: src.workload,
    source_canonical_service: src.app,
    source_canonical_revision: src.canonicalRevision,
    source_workload_namespace: src.namespace,
    source_principal: src.principal,
    source_app: src.app,
    source_version: src.version,
    source_cluster: 'Kubernetes',
    destination_workload: dst.workload,
    destination_workload_namespace: dst.namespace,
    destination_principal: dst.principal,
    destination_app: dst.app,
    destination_version: dst.version,
    destination_service: FQDN(svc),
    destination_canonical_service: dst.app,
    destination_canonical_revision: dst.canonicalRevision,
    destination_service_name: svc,
    destination_service_namespace: 'default',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: '200',
    grpc_response_status: '',
    response_flags: '-',
  };
}

const DURATION_LE = ['0.5', '1', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '30000', '60000', '300000', '600000', '1800000', '3600000', '+Inf'];
const SIZE_LE = ['1', '10', '100', '1000', '10000', '100000', '1000000', '10000000', '+Inf'];

const USER_AGENT = 'bookinfo-reader/1.0';
let mesh: MeshRun;
const samples = new Map<string, Sample[]>();

async function scrape(address: string): Promise<Sample[]> {
  const res = await request(`http://${address}/stats/prometheus`);
  assert.equal(res.statusCode, 200);
  return parsePromText(await res.body.text());
}

function requestsTotal(workload: string): Sample[] {
  return (samples.get(workload) ?? []).filter((s) => s.name === 'istio_requests_total');
}

/** The one series of `workload`'s proxy as `reporter` from src to dst. */
function series(workload: string, reporter: string, src: Side, dst: Side): Record<string, string> {
  const found = requestsTotal(workload).filter((s) => s.labels['reporter'] === reporter && s.labels['source_workload'] === src.workload && s.labels['destination_workload'] === dst.workload);
  assert.equal(found.length, 1, `${workload} ${reporter} ${src.workload} → ${dst.workload}: ${JSON.stringify(requestsTotal(workload).map((s) => s.labels))}`);
  return found[0]!.labels;
}

before(async () => {
  mesh = await startMesh(['examples/bookinfo'], { isolation: 'none' });
  // Enough page views that reviews v2 and v3 (the ones that call ratings) both serve: Istio's default balancer
  // picks at random among idle hosts, so 30 views miss one with p < 1e-5.
  for (let i = 0; i < 30; i++) {
    const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headersTimeout: 15_000, headers: { 'user-agent': USER_AGENT } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
  }
  for (const name of ['productpage-v1', 'details-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'ratings-v1']) {
    samples.set(name, await scrape(`${mesh.workload(name).podIP}:15020`));
  }
});
after(async () => {
  const dir = mesh?.stateDir;
  await mesh?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('istio_requests_total on bookinfo', () => {
  const hops: Array<[string, Side, Side, string]> = [
    ['productpage-v1', PRODUCTPAGE, DETAILS, 'details'],
    ['productpage-v1', PRODUCTPAGE, reviews('v1'), 'reviews'],
    ['productpage-v1', PRODUCTPAGE, reviews('v2'), 'reviews'],
    ['productpage-v1', PRODUCTPAGE, reviews('v3'), 'reviews'],
    ['reviews-v2', reviews('v2'), RATINGS, 'ratings'],
    ['reviews-v3', reviews('v3'), RATINGS, 'ratings'],
  ];
  for (const [sourceProxy, src, dst, svc] of hops) {
    test(`${src.workload} → ${dst.workload}: both reporters carry Istio's labels and agree`, () => {
      const source = series(sourceProxy, 'source', src, dst);
      const destination = series(dst.workload, 'destination', src, dst);
      assert.deepEqual(source, { ...istioLabels(src, dst, svc), reporter: 'source', connection_security_policy: 'unknown' });
      assert.deepEqual(destination, { ...istioLabels(src, dst, svc), reporter: 'destination', connection_security_policy: 'mutual_tls' });
    });
  }

  test('the ingress gateway is the source productpage reports', () => {
    assert.deepEqual(series('productpage-v1', 'destination', GATEWAY, PRODUCTPAGE), {
      ...istioLabels(GATEWAY, PRODUCTPAGE, 'productpage'),
      reporter: 'destination',
      connection_security_policy: 'mutual_tls',
    });
  });

  test('every request is counted once at each end', () => {
    const count = (workload: string, reporter: string, dst: string): number =>
      requestsTotal(workload).filter((s) => s.labels['reporter'] === reporter && s.labels['destination_service_name'] === dst).reduce((n, s) => n + s.value, 0);
    assert.equal(count('productpage-v1', 'destination', 'productpage'), 30);
    assert.equal(count('productpage-v1', 'source', 'details'), 30);
    assert.equal(count('details-v1', 'destination', 'details'), 30);
    assert.equal(count('productpage-v1', 'source', 'reviews'), 30);
    const reviewsServed = ['reviews-v1', 'reviews-v2', 'reviews-v3'].map((w) => count(w, 'destination', 'reviews'));
    assert.equal(reviewsServed.reduce((a, b) => a + b), 30);
    assert.equal(count('ratings-v1', 'destination', 'ratings'), reviewsServed[1]! + reviewsServed[2]!);
  });
});

describe("Istio's histograms", () => {
  const les = (name: string): string[] => [...new Set((samples.get('productpage-v1') ?? []).filter((s) => s.name === name).map((s) => s.labels['le']!))];
  test('request duration in milliseconds, with Istio buckets', () => assert.deepEqual(les('istio_request_duration_milliseconds_bucket'), DURATION_LE));
  test('request and response sizes, with Istio buckets', () => {
    assert.deepEqual(les('istio_request_bytes_bucket'), SIZE_LE);
    assert.deepEqual(les('istio_response_bytes_bucket'), SIZE_LE);
  });
  test('the response bytes productpage sent the gateway are counted', () => {
    const sum = (samples.get('productpage-v1') ?? []).find((s) => s.name === 'istio_response_bytes_sum' && s.labels['reporter'] === 'destination' && s.labels['source_workload'] === GATEWAY.workload);
    assert.ok(sum && sum.value > 30 * 1000, `product pages are over 1 kB each: ${sum?.value}`);
  });
});

describe("weft's own proxy metrics", () => {
  test('the TLS of mesh connections: TLS 1.3, the cipher, and the key exchange group the dialling side saw', () => {
    const tls = (samples.get('productpage-v1') ?? []).filter((s) => s.name === 'weft_mesh_tls_connections_total');
    const outbound = tls.filter((s) => s.labels['direction'] === 'outbound');
    const inbound = tls.filter((s) => s.labels['direction'] === 'inbound');
    assert.ok(outbound.length > 0 && inbound.length > 0, JSON.stringify(tls));
    for (const s of tls) {
      assert.equal(s.labels['tls_version'], 'TLSv1.3');
      assert.match(s.labels['cipher']!, /^TLS_(AES_\d+_GCM_SHA\d+|CHACHA20_POLY1305_SHA256)$/);
      assert.equal(s.labels['workload'], 'default/productpage-v1');
    }
    for (const s of outbound) assert.match(s.labels['key_exchange']!, /^(X25519|prime256v1|secp384r1|X25519MLKEM768)$/);
  });

  test("the certificate's validity, for expiry alerts", () => {
    const at = (name: string): number => (samples.get('ratings-v1') ?? []).find((s) => s.name === name && s.labels['workload'] === 'default/ratings-v1')?.value ?? NaN;
    const notBefore = at('weft_certificate_not_before_timestamp_seconds');
    const notAfter = at('weft_certificate_expiration_timestamp_seconds');
    const now = Date.now() / 1000;
    assert.ok(notBefore < now && now < notAfter, `${notBefore} < ${now} < ${notAfter}`);
    // MeshConfig's default certificateTTL is 24 h (notBefore is backdated a little for clock skew).
    assert.ok(notAfter - notBefore >= 24 * 3600 && notAfter - notBefore < 25 * 3600, String(notAfter - notBefore));
  });
});

describe('the header that names the caller', () => {
  test('a client cannot name itself as another workload', async () => {
    const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headers: { 'x-weft-peer-workload': 'default/reviews-v1' } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const text = await eventually('productpage counts the request', async () => {
      const s = (await scrape(`${mesh.workload('productpage-v1').podIP}:15020`)).filter((x) => x.name === 'istio_requests_total' && x.labels['reporter'] === 'destination');
      return s.reduce((n, x) => n + x.value, 0) === 31 ? s : undefined;
    });
    assert.deepEqual([...new Set(text.map((s) => s.labels['source_workload']))], [GATEWAY.workload], 'a client cannot name itself as another workload');
  });
});

interface JsonAccessLine {
  msg: string;
  direction: string;
  status: number;
  requestId?: string;
  userAgent?: string;
  upstreamHost?: string;
  upstreamCluster?: string;
  requestBytes?: number;
  responseBytes?: number;
  durationMs: number;
  responseFlags?: string;
  destinationService?: string;
}

function sidecarLog(workload: string): string[] {
  return fs.readFileSync(path.join(mesh.stateDir, 'logs', `default.${workload}.sidecar.log`), 'utf8').split('\n');
}

describe('the access log', () => {
  test('JSON by default: request id, user agent, upstream host and cluster, bytes, duration, at both ends', async () => {
    const lines = (w: string): JsonAccessLine[] => sidecarLog(w).filter((l) => l.includes('"msg":"access"')).map((l) => JSON.parse(l) as JsonAccessLine);
    const out = await eventually('productpage logs its calls to details', () => {
      const found = lines('productpage-v1').filter((e) => e.direction === 'outbound' && e.destinationService === FQDN('details'));
      return found.length >= 30 ? found : undefined;
    });
    const e = out[0]!;
    assert.equal(e.status, 200);
    assert.match(e.requestId ?? '', /^[0-9a-f-]{36}$/);
    // productpage's app passes the user agent on, as bookinfo does.
    assert.equal(e.userAgent, USER_AGENT);
    assert.equal(e.upstreamCluster, `outbound|9080||${FQDN('details')}`);
    assert.equal(e.upstreamHost, `${mesh.workload('details-v1').podIP}:15006`);
    // Bytes received are counted, 0 for a GET without a body (Envoy's BYTES_RECEIVED).
    assert.ok((e.responseBytes ?? 0) > 0 && e.requestBytes === 0 && e.durationMs > 0, JSON.stringify(e));
    assert.equal(e.responseFlags, undefined);
    // The gateway made the request id; productpage's app carried it on, so details logs the same one.
    const atDetails = await eventually('details logs the same request', () => lines('details-v1').find((x) => x.direction === 'inbound' && x.requestId === e.requestId));
    assert.equal(atDetails.status, 200);
  });

  test("accessLogEncoding TEXT: Envoy's default format, applied live", async () => {
    const applied = await mesh.weft(['apply', '-f', '-'], 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: mesh, namespace: weft-system }\nspec: { accessLogEncoding: TEXT }\n');
    assert.equal(applied.code, 0, applied.stderr);
    const ENVOY_LINE = /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET \/details\/0 HTTP\/1\.1" 200 - 0 \d+ \d+ - "-" "[^"]*" "[0-9a-f-]{36}" "details:9080" "[\d.]+:15006"$/;
    await eventually('a text line for a call to details', async () => {
      const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`);
      await res.body.dump();
      return sidecarLog('productpage-v1').some((l) => ENVOY_LINE.test(l)) ? true : undefined;
    });
  });

  test('an unsupported operator is refused at apply, naming it', async () => {
    const r = await mesh.weft(['apply', '-f', '-'], 'apiVersion: weft.dev/v1alpha1\nkind: MeshConfig\nmetadata: { name: mesh, namespace: weft-system }\nspec: { accessLogEncoding: TEXT, accessLogFormat: "%DOWNSTREAM_LOCAL_ADDRESS%" }\n');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /accessLogFormat.*DOWNSTREAM_LOCAL_ADDRESS% is not an operator weft supports/);
  });
});
