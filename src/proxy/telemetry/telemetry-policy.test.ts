/**
 * A proxy reads every field of its telemetry-policy section: metrics disabled or tags removed and upserted (from
 * bounded attributes, computed once per series), access-log lines filtered or turned off per side, and tracing's
 * request-id sampling and custom tags.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { TelemetryModePolicy, TelemetryPolicy } from '../../proxyconfig/telemetry-policy-types.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { AccessLogWriter } from './access-log-writer.js';
import type { AccessLogEntry } from './access-log.js';
import { requestIdSampled, startHop } from './trace-context.js';
import { setTelemetryEnv, tracingFor } from './telemetry-policy.js';

const OFF: TelemetryModePolicy = { metrics: { enabled: true, overrides: [] }, accessLog: null, tracing: null };

function configWith(server: Partial<TelemetryModePolicy>, client: Partial<TelemetryModePolicy> = {}): ProxyConfig {
  const telemetryPolicy: TelemetryPolicy = { applied: ['default/t'], client: { ...OFF, ...client }, server: { ...OFF, ...server } };
  return {
    proxy: { role: 'sidecar', namespace: 'default', name: 'httpbin', spiffeId: 'spiffe://cluster.local/ns/default/sa/httpbin', labels: { app: 'httpbin' } },
    trustDomain: 'cluster.local',
    telemetry: { clusterId: 'Kubernetes', workloads: [], accessLog: { encoding: 'JSON', format: '' } },
    telemetryPolicy,
  } as unknown as ProxyConfig;
}

const inbound = (status: number, extra: Partial<AccessLogEntry> = {}): AccessLogEntry => ({
  direction: 'inbound', method: 'GET', authority: 'httpbin:8000', path: '/status', status, durationMs: 3, destinationService: 'httpbin.default.svc.cluster.local', mtls: true, peer: 'spiffe://cluster.local/ns/default/sa/sleep', requestBytes: 0, responseBytes: 10, ...extra,
});

async function seriesOf(m: ProxyMetrics, name: string): Promise<Record<string, string | number>[]> {
  const metric = m.registry.getSingleMetric(name);
  assert.ok(metric, name);
  return (await metric.get()).values.filter((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === `${name}_count`).map((v) => ({ ...v.labels, value: v.value }));
}

describe('metrics', () => {
  test('a removed tag is gone; an upserted one takes its CEL value per response code', async () => {
    const cfg = configWith({
      metrics: { enabled: true, overrides: [{ metric: 'REQUEST_COUNT', disabled: false, tags: [{ tag: 'grpc_response_status', remove: true }, { tag: 'outcome', remove: false, value: "response.code >= 500 ? 'error' : node.metadata['NAMESPACE']" }] }] },
    });
    const m = new ProxyMetrics('default/httpbin', () => cfg);
    for (const s of [200, 200, 503]) m.record(inbound(s));
    const count = await seriesOf(m, 'istio_requests_total');
    assert.deepEqual(count.map((s) => [s['outcome'], s['response_code'], s['value'], 'grpc_response_status' in s]), [['default', '200', 2, false], ['error', '503', 1, false]]);
    // Other metrics keep Istio's labels.
    const duration = await seriesOf(m, 'istio_request_duration_milliseconds');
    assert.ok(duration.every((s) => 'grpc_response_status' in s && !('outcome' in s)));
    m.close();
  });

  test('a disabled metric has no series; metrics off on one side leave the other', async () => {
    const cfg = configWith({ metrics: { enabled: true, overrides: [{ metric: 'REQUEST_DURATION', disabled: true, tags: [] }] } }, { metrics: { enabled: false, overrides: [] } });
    const m = new ProxyMetrics('default/httpbin', () => cfg);
    m.record(inbound(200));
    m.record({ ...inbound(200), direction: 'outbound', upstream: 'default/other' });
    assert.deepEqual(await seriesOf(m, 'istio_request_duration_milliseconds'), []);
    const count = await seriesOf(m, 'istio_requests_total');
    assert.deepEqual(count.map((s) => s['reporter']), ['destination']);
    m.close();
  });

  test('TCP metrics: TCP_SENT_BYTES disabled, the others counted', async () => {
    const cfg = configWith({ metrics: { enabled: true, overrides: [{ metric: 'TCP_SENT_BYTES', disabled: true, tags: [] }] } });
    const m = new ProxyMetrics('default/httpbin', () => cfg);
    const tcp = { ...inbound(200), method: 'TCP', requestBytes: 5, responseBytes: 7 };
    m.opened(tcp);
    m.record(tcp);
    assert.deepEqual(await seriesOf(m, 'istio_tcp_sent_bytes_total'), []);
    assert.deepEqual((await seriesOf(m, 'istio_tcp_received_bytes_total')).map((s) => s['value']), [5]);
    assert.deepEqual((await seriesOf(m, 'istio_tcp_connections_opened_total')).map((s) => s['value']), [1]);
    m.close();
  });
});

describe('reportingInterval', () => {
  test('an open TCP connection reports its bytes every interval; its close adds only the rest', async () => {
    const timers: { fn: () => void; ms: number }[] = [];
    const clock = { now: () => 0, setTimeout: (fn: () => void, ms: number) => (timers.push({ fn, ms }), undefined as unknown as NodeJS.Timeout) };
    const cfg = configWith({});
    (cfg.telemetryPolicy as { reportingIntervalMs?: number }).reportingIntervalMs = 2000;
    const m = new ProxyMetrics('default/httpbin', () => cfg, undefined, clock);
    const conn = { bytesRead: 0, bytesWritten: 0 };
    const tcp = (): AccessLogEntry => ({ ...inbound(200), method: 'TCP', requestBytes: conn.bytesRead, responseBytes: conn.bytesWritten, connection: conn });
    const sums = async (): Promise<unknown[]> => [(await seriesOf(m, 'istio_tcp_received_bytes_total'))[0]?.['value'], (await seriesOf(m, 'istio_tcp_sent_bytes_total'))[0]?.['value']];
    m.opened(tcp());
    assert.deepEqual(timers.map((t) => t.ms), [2000]);
    conn.bytesRead = 100;
    conn.bytesWritten = 40;
    timers.shift()!.fn();
    assert.deepEqual(await sums(), [100, 40]);
    assert.deepEqual(timers.map((t) => t.ms), [2000], 'rearmed while a connection is open');
    conn.bytesRead = 150;
    conn.bytesWritten = 90;
    m.record(tcp());
    assert.deepEqual(await sums(), [150, 90]);
    timers.shift()!.fn();
    assert.deepEqual(await sums(), [150, 90]);
    assert.equal(timers.length, 0, 'no timer once nothing is open');
    m.close();
  });
});

describe('access log', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-telemetry-log-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function linesOf(file: string, n: number): Promise<string[]> {
    for (;;) {
      const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
      if (lines.length >= n) return lines;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  test("Istio's task: `response.code >= 400` logs only errors; a header filter reads the request; the other side is off", async () => {
    const cfg = configWith(
      { accessLog: [{ provider: 'envoy', encoding: 'TEXT', format: '%RESPONSE_CODE%', filter: 'response.code >= 400' }, { provider: 'debug', encoding: 'TEXT', format: 'debug %RESPONSE_CODE%', filter: "request.headers['x-debug'] == 'on'" }] },
      { accessLog: [] },
    );
    const file = path.join(dir, 'filtered');
    const writer = new AccessLogWriter(fs.openSync(file, 'w'), () => cfg);
    writer.write({ ...inbound(200), direction: 'outbound' });
    writer.write(inbound(200));
    writer.write(inbound(503));
    writer.write({ ...inbound(204), requestHeaders: { 'x-debug': 'on' } });
    writer.write(inbound(404));
    assert.deepEqual(await linesOf(file, 3), ['503', 'debug 204', '404']);
  });
});

describe('tracing', () => {
  test('request-id sampling: the same id decides the same at every hop, whatever the random draw', () => {
    const t = { collector: { host: 'c', port: 4318, path: '/v1/traces' }, samplingPercent: 50, maxTagLength: 256, useRequestIdForSampling: true };
    const id = '0000270f-aaaa-4bbb-8ccc-dddddddddddd'; // 9999 % 10000 = 9999: not under 5000
    assert.equal(requestIdSampled(id, 50), false);
    assert.equal(requestIdSampled('00001388-0000-0000-0000-000000000000', 50), false); // 5000
    assert.equal(requestIdSampled('00001387-0000-0000-0000-000000000000', 50), true); // 4999
    assert.equal(startHop(t, { 'x-request-id': id }, () => 0)?.sampled, false);
    assert.equal(startHop({ ...t, useRequestIdForSampling: false }, { 'x-request-id': id }, () => 0)?.sampled, true);
  });

  test('custom tags: a header read at the start (bounded), literal and environment values read once per config', () => {
    setTelemetryEnv((n) => (n === 'POD_NAME' ? 'httpbin-1' : undefined));
    const cfg = configWith({
      tracing: {
        collector: { host: 'c', port: 4318, path: '/v1/traces' }, samplingPercent: 100, maxTagLength: 4, reportSpans: false, useRequestIdForSampling: true,
        customTags: [{ tag: 'env', literal: 'prod' }, { tag: 'pod', environment: { name: 'POD_NAME', defaultValue: '-' } }, { tag: 'tenant', header: { name: 'x-tenant', defaultValue: 'none' } }],
      },
    });
    const tracing = tracingFor(cfg, 'server');
    assert.deepEqual(tracing?.fixedTags, [['env', 'prod'], ['pod', 'httpbin-1']]);
    assert.equal(tracing?.reportSpans, false);
    assert.deepEqual(startHop(tracing, { 'x-tenant': 'acme-corp' }, () => 0)?.headerTags, ['tenant', 'acme']);
    assert.equal(tracingFor(cfg, 'client'), null);
    setTelemetryEnv((n) => process.env[n]);
  });
});
