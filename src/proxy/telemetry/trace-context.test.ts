/** Reading a caller's trace context (W3C Trace Context, B3 multi and single) and the sampling decision, as Envoy makes it for Istio. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { incomingContext, parseTraceparent, startHop } from './trace-context.js';
import type { TracingConfig } from '../../proxyconfig/telemetry-types.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('W3C traceparent (Trace Context §3.2, its examples)', () => {
  const cases: Array<[string, ReturnType<typeof parseTraceparent>]> = [
    [`00-${T}-${S}-01`, { traceId: T, spanId: S, sampled: true }],
    [`00-${T}-${S}-00`, { traceId: T, spanId: S, sampled: false }],
    [`01-${T}-${S}-09-future`, { traceId: T, spanId: S, sampled: true }],
    [`00-${'0'.repeat(32)}-${S}-01`, undefined],
    [`00-${T}-${'0'.repeat(16)}-01`, undefined],
    [`ff-${T}-${S}-01`, undefined],
    [`00-${T.toUpperCase()}-${S}-01`, undefined],
    [`00-${T}-${S}-1`, undefined],
    ['garbage', undefined],
  ];
  for (const [header, want] of cases) test(header, () => assert.deepEqual(parseTraceparent(header), want));
});

describe('B3', () => {
  test('single header, with and without the sampling state; 64-bit trace ids are widened', () => {
    assert.deepEqual(incomingContext({ b3: `${T}-${S}-1-05e3ac9a4f6e3b90` }), { traceId: T, spanId: S, sampled: true, tracestate: undefined, b3: 'single' });
    assert.equal(incomingContext({ b3: `${T}-${S}` })?.sampled, undefined);
    assert.equal(incomingContext({ b3: `a3ce929d0e0e4736-${S}-d` })?.traceId, `0000000000000000a3ce929d0e0e4736`);
    assert.equal(incomingContext({ b3: '0' }), undefined, 'a bare decision carries no context');
  });
  test('multi header; x-b3-flags 1 (debug) samples', () => {
    assert.deepEqual(incomingContext({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '0' }), { traceId: T, spanId: S, sampled: false, tracestate: undefined, b3: 'multi' });
    assert.equal(incomingContext({ 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-flags': '1' })?.sampled, true);
  });
  test('W3C wins over B3', () => {
    assert.equal(incomingContext({ traceparent: `00-${T}-${S}-01`, b3: `${'1'.repeat(32)}-${S}-1` })?.traceId, T);
  });
});

describe('a hop joins or starts a trace', () => {
  const tracing = (samplingPercent: number): TracingConfig => ({ collector: { host: '127.0.0.1', port: 4318, path: '/v1/traces' }, samplingPercent, maxTagLength: 256 });
  const never = (): number => 0.999;
  const always = (): number => 0;

  test('tracing off: nothing', () => assert.equal(startHop(undefined, { traceparent: `00-${T}-${S}-01` }, always), undefined));

  test("the caller's decision stands, whatever the percentage", () => {
    assert.equal(startHop(tracing(0), { traceparent: `00-${T}-${S}-01` }, never)?.sampled, true);
    assert.equal(startHop(tracing(100), { traceparent: `00-${T}-${S}-00` }, always)?.sampled, false);
  });

  test('no decision: x-client-trace-id forces a trace, else the percentage decides', () => {
    assert.equal(startHop(tracing(0), { 'x-client-trace-id': 'abc' }, never)?.sampled, true);
    assert.equal(startHop(tracing(1), {}, () => 0.009)?.sampled, true);
    assert.equal(startHop(tracing(1), {}, () => 0.01)?.sampled, false);
  });

  test("the hop's own span goes on as the parent, in W3C and in the caller's B3", () => {
    const hop = startHop(tracing(0), { traceparent: `00-${T}-${S}-01`, tracestate: 'vendor=x' }, never)!;
    assert.equal(hop.traceId, T);
    assert.equal(hop.parentSpanId, S);
    assert.match(hop.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(hop.spanId, S);
    assert.deepEqual(hop.headers, ['traceparent', `00-${T}-${hop.spanId}-01`, 'tracestate', 'vendor=x']);
    const b3 = startHop(tracing(0), { b3: `${T}-${S}-1` }, never)!;
    assert.deepEqual(b3.headers, ['traceparent', `00-${T}-${b3.spanId}-01`, 'b3', `${T}-${b3.spanId}-1-${S}`]);
    const multi = startHop(tracing(0), { 'x-b3-traceid': T, 'x-b3-spanid': S, 'x-b3-sampled': '1' }, never)!;
    assert.deepEqual(multi.headers.slice(2), ['x-b3-traceid', T, 'x-b3-spanid', multi.spanId, 'x-b3-parentspanid', S, 'x-b3-sampled', '1']);
  });

  test('a new trace without a parent', () => {
    const hop = startHop(tracing(100), {}, always)!;
    assert.match(hop.traceId, /^[0-9a-f]{32}$/);
    assert.equal(hop.parentSpanId, undefined);
  });
});
