/**
 * Tracing on bookinfo, received by a real OTLP receiver: one page view is one trace across the ingress gateway,
 * productpage, details, reviews and ratings, every hop's span a child of the hop before it (the apps carry the
 * context their sidecar handed them, as bookinfo does); a client's W3C or B3 context is joined; the access log
 * names the trace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { startOtlpReceiver, traceMeshTo } from './support/otlp-receiver.js';
import type { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver.js';

let mesh: MeshRun;
let receiver: OtlpReceiver;
/** Traces already looked at. */
const seen = new Set<string>();

const FQDN = (svc: string): string => `${svc}.default.svc.cluster.local:9080/*`;

before(async () => {
  receiver = await startOtlpReceiver();
  mesh = await startMesh(['examples/bookinfo'], { isolation: 'none' });
  await traceMeshTo(mesh, receiver);
});
after(async () => {
  const dir = mesh?.stateDir;
  await mesh?.stop();
  await receiver?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function pageView(headers: Record<string, string>): Promise<void> {
  const res = await request(`http://127.0.0.1:${mesh.ingressPort}/productpage`, { headers, headersTimeout: 15_000 });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
}

/**
 * The spans of one page view's trace once all have arrived: six when reviews v1 answered (it calls no ratings), else
 * eight. Each proxy exports on its own schedule, so a count short of the whole may lack any hop, the gateway's too.
 */
function pageViewTrace(traceId: string): Promise<ReceivedSpan[]> {
  return eventually(`every span of trace ${traceId}`, () => {
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const reviews = spans.find((s) => s.service === 'reviews.default' && s.kind === 'SPAN_KIND_SERVER');
    if (reviews === undefined) return undefined;
    return spans.length >= (reviews.attributes['istio.canonical_revision'] === 'v1' ? 6 : 8) ? spans : undefined;
  }, 30_000);
}

function one(spans: ReceivedSpan[], service: string, kind: string, name: string): ReceivedSpan {
  const found = spans.filter((s) => s.service === service && s.kind === kind && s.name === name);
  assert.equal(found.length, 1, `${service} ${kind} ${name} in ${JSON.stringify(spans.map((s) => [s.service, s.kind, s.name]))}`);
  return found[0]!;
}

describe('one page view is one trace', () => {
  test('gateway → productpage → details, reviews → ratings, each hop the parent of the next', async () => {
    // Forced by x-client-trace-id; reviews v2 and v3 call ratings, v1 does not: view until a trace reaches ratings.
    let spans: ReceivedSpan[] = [];
    for (let i = 0; i < 20 && !spans.some((s) => s.service === 'ratings.default'); i++) {
      await pageView({ 'x-client-trace-id': `page-view-${i}` });
      const gw = await eventually('the gateway span of a new trace', () => receiver.spans.find((s) => s.service === 'weft-ingressgateway.weft-system' && !seen.has(s.traceId)));
      seen.add(gw.traceId);
      spans = await pageViewTrace(gw.traceId);
    }
    assert.ok(spans.some((s) => s.service === 'ratings.default'), 'twenty page views never reached ratings');
    assert.equal(spans.length, 8, JSON.stringify(spans.map((s) => [s.service, s.kind, s.name])));

    const gateway = one(spans, 'weft-ingressgateway.weft-system', 'SPAN_KIND_SERVER', FQDN('productpage'));
    const productpage = one(spans, 'productpage.default', 'SPAN_KIND_SERVER', FQDN('productpage'));
    const toDetails = one(spans, 'productpage.default', 'SPAN_KIND_CLIENT', FQDN('details'));
    const details = one(spans, 'details.default', 'SPAN_KIND_SERVER', FQDN('details'));
    const toReviews = one(spans, 'productpage.default', 'SPAN_KIND_CLIENT', FQDN('reviews'));
    const reviews = one(spans, 'reviews.default', 'SPAN_KIND_SERVER', FQDN('reviews'));
    const toRatings = one(spans, 'reviews.default', 'SPAN_KIND_CLIENT', FQDN('ratings'));
    const ratings = one(spans, 'ratings.default', 'SPAN_KIND_SERVER', FQDN('ratings'));

    assert.equal(gateway.parentSpanId, '', 'the gateway starts the trace');
    const parentOf: Array<[ReceivedSpan, ReceivedSpan]> = [
      [productpage, gateway],
      [toDetails, productpage],
      [details, toDetails],
      [toReviews, productpage],
      [reviews, toReviews],
      [toRatings, reviews],
      [ratings, toRatings],
    ];
    for (const [child, parent] of parentOf) assert.equal(child.parentSpanId, parent.spanId, `${child.service} ${child.name} is a child of ${parent.service} ${parent.name}`);

    // Istio's span tags.
    assert.equal(ratings.attributes['istio.canonical_service'], 'ratings');
    assert.equal(ratings.attributes['istio.namespace'], 'default');
    assert.equal(ratings.attributes['http.method'], 'GET');
    assert.equal(ratings.attributes['http.status_code'], '200');
    assert.equal(ratings.attributes['response_flags'], '-');
    assert.equal(toRatings.attributes['upstream_cluster'], 'outbound|9080||ratings.default.svc.cluster.local');
    assert.equal(toRatings.attributes['guid:x-request-id'], ratings.attributes['guid:x-request-id']);
    assert.equal(receiver.rejected, 0);

    // The access log names the trace.
    const log = fs.readFileSync(path.join(mesh.stateDir, 'logs', 'default.ratings-v1.sidecar.log'), 'utf8');
    assert.ok(log.includes(`"traceId":"${ratings.traceId}"`), 'ratings logged the trace id');
  });
});

describe("a client's trace context is joined", () => {
  test('W3C traceparent: same trace, the gateway span a child of the client span', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await pageView({ traceparent: `00-${traceId}-00f067aa0ba902b7-01`, tracestate: 'vendor=opaque' });
    const spans = await pageViewTrace(traceId);
    assert.equal(one(spans, 'weft-ingressgateway.weft-system', 'SPAN_KIND_SERVER', FQDN('productpage')).parentSpanId, '00f067aa0ba902b7');
  });

  test('B3 single header: same trace', async () => {
    const traceId = '80f198ee56343ba864fe8b2a57d3eff7';
    await pageView({ b3: `${traceId}-e457b5a2e4d86bd1-1` });
    const spans = await pageViewTrace(traceId);
    assert.equal(one(spans, 'weft-ingressgateway.weft-system', 'SPAN_KIND_SERVER', FQDN('productpage')).parentSpanId, 'e457b5a2e4d86bd1');
  });

  test('B3 multi headers: same trace', async () => {
    const traceId = 'a3ce929d0e0e47364bf92f3577b34da6';
    await pageView({ 'x-b3-traceid': traceId, 'x-b3-spanid': '05e3ac9a4f6e3b90', 'x-b3-sampled': '1' });
    await pageViewTrace(traceId);
  });
});
