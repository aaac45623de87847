/** Envoy's command operators as weft formats them, Envoy's default line, JSON formats, and refusals of the rest. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENVOY_DEFAULT_FORMAT, compileFormat, compileJsonFormat, formatJson, formatText } from './envoy-format.js';
import type { LogRecord } from './envoy-format.js';
import { isWeftError } from '../errors.js';

const record: LogRecord = {
  startMs: Date.UTC(2026, 11, 6, 12, 0, 0, 250),
  method: 'GET',
  path: '/reviews/0?x=1',
  authority: 'reviews:9080',
  protocol: 'HTTP/1.1',
  status: 503,
  responseFlags: 'UF,URX',
  bytesReceived: 12,
  bytesSent: 91,
  durationMs: 41.6,
  upstreamHost: '198.18.0.12:15006',
  upstreamCluster: 'outbound|9080|v2|reviews.default.svc.cluster.local',
  userAgent: 'curl/8.5.0',
  requestId: '9c1b0c3e-1111-4b7e-a3a4-0123456789ab',
  forwardedFor: undefined,
  peer: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage',
  upstreamPrincipal: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  reason: 'upstream connect error',
};

describe('operators', () => {
  const cases: Array<[string, string]> = [
    ['%START_TIME%', '2026-12-06T12:00:00.250Z'],
    ['%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%', 'GET /reviews/0?x=1 HTTP/1.1'],
    ['%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '/reviews/0?x=1'],
    ['%REQ(:AUTHORITY)% %REQ(Host)%', 'reviews:9080 reviews:9080'],
    ['%RESPONSE_CODE% %RESPONSE_FLAGS%', '503 UF,URX'],
    ['%BYTES_RECEIVED% %BYTES_SENT% %DURATION%', '12 91 42'],
    ['%UPSTREAM_HOST% %UPSTREAM_CLUSTER%', '198.18.0.12:15006 outbound|9080|v2|reviews.default.svc.cluster.local'],
    ['"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(X-FORWARDED-FOR)%"', '"curl/8.5.0" "9c1b0c3e-1111-4b7e-a3a4-0123456789ab" "-"'],
    ['%DOWNSTREAM_PEER_URI_SAN% %UPSTREAM_PEER_URI_SAN%', 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage spiffe://cluster.local/ns/default/sa/bookinfo-reviews'],
    ['%TRACE_ID% %RESPONSE_CODE_DETAILS%', '4bf92f3577b34da6a3ce929d0e0e4736 upstream_connect_error'],
    ['%REQ(USER-AGENT):4%', 'curl'],
    ['%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%', '-'],
    ['no operators at all', 'no operators at all'],
  ];
  for (const [format, want] of cases) test(format, () => assert.equal(formatText(compileFormat(format), record), want));

  test("Envoy's default format", () => {
    assert.equal(
      formatText(compileFormat(ENVOY_DEFAULT_FORMAT), record),
      '[2026-12-06T12:00:00.250Z] "GET /reviews/0?x=1 HTTP/1.1" 503 UF,URX 12 91 42 - "-" "curl/8.5.0" "9c1b0c3e-1111-4b7e-a3a4-0123456789ab" "reviews:9080" "198.18.0.12:15006"\n',
    );
  });

  test('an absent response flag is "-"', () => {
    assert.equal(formatText(compileFormat('%RESPONSE_FLAGS%'), { ...record, responseFlags: undefined }), '-');
  });
});

describe('JSON formats', () => {
  test('one operator keeps its type, absent is null, mixed text is a string', () => {
    const f = compileJsonFormat('{"code":"%RESPONSE_CODE%","ua":"%REQ(USER-AGENT)%","xff":"%REQ(X-FORWARDED-FOR)%","line":"%REQ(:METHOD)% %REQ(:PATH)%"}');
    assert.deepEqual(JSON.parse(formatJson(f, record)), { code: 503, ua: 'curl/8.5.0', xff: null, line: 'GET /reviews/0?x=1' });
  });
});

describe('refused, with the operator named', () => {
  const bad: Array<[string, RegExp]> = [
    ['%DOWNSTREAM_LOCAL_ADDRESS%', /DOWNSTREAM_LOCAL_ADDRESS% is not an operator weft supports/],
    ['%REQ(COOKIE)%', /REQ\(cookie\) is not a header weft records/],
    ['%REQ%', /REQ needs a header/],
    ['%RESP(CONTENT-TYPE)%', /RESP\(CONTENT-TYPE\) is not supported/],
    ['%START_TIME(%s)%', /START_TIME\(%s\)% is not an operator/],
  ];
  for (const [format, message] of bad) {
    test(format, () => assert.throws(() => compileFormat(format), (err: unknown) => isWeftError(err, 'CONFIG_INVALID') && message.test(err.message)));
  }
  test('a JSON format that is not an object', () => {
    assert.throws(() => compileJsonFormat('[1]'), /a JSON object/);
    assert.throws(() => compileJsonFormat('{"a": 1}'), /accessLogFormat.a: must be a string/);
  });
});
