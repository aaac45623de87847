/**
 * Istio's Telemetry hierarchy and merge, table-driven from its docs and tasks (customizing metrics, access logging,
 * tracing with the Telemetry API) and from pilot's merge rules.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../config/resource.js';
import { meshConfigWithDefaults } from '../../config/kinds/mesh-config.js';
import type { TelemetrySpec } from '../../config/kinds/telemetry.js';
import type { TelemetryPolicy } from '../../proxyconfig/telemetry-policy-types.js';
import { buildSnapshot } from './snapshot.js';
import { telemetryPolicySection } from './telemetry-policy.js';
import type { TelemetryTarget } from './telemetry-scope.js';

const BOOT = { ...meshConfigWithDefaults({}), rootNamespace: 'istio-system' };
const MESH_CONFIG = {
  rootNamespace: 'istio-system',
  extensionProviders: [
    { name: 'otel', opentelemetry: { service: 'otel.observability.svc.cluster.local', port: 4318 } },
    { name: 'otel-b', opentelemetry: { service: 'b.observability.svc.cluster.local', port: 4318 } },
    { name: 'json-log', envoyFileAccessLog: { path: '/dev/stdout', logFormat: { labels: { code: '%RESPONSE_CODE%' } } } },
  ],
  defaultProviders: { tracing: ['otel'] },
};

let created = 0;
function telemetry(namespace: string, name: string, spec: TelemetrySpec): Resource {
  created++;
  return {
    apiVersion: 'telemetry.istio.io/v1',
    kind: 'Telemetry',
    metadata: { namespace, name, labels: {}, annotations: {}, creationTimestamp: `2024-01-01T00:00:${String(created).padStart(2, '0')}Z` } as Resource['metadata'],
    spec,
  };
}
const meshConfig = (spec: unknown): Resource => ({ apiVersion: 'weft.dev/v1alpha1', kind: 'MeshConfig', metadata: { namespace: 'istio-system', name: 'mesh', labels: {}, annotations: {} } as Resource['metadata'], spec });

const FOO: TelemetryTarget = { role: 'sidecar', namespace: 'foo', labels: { app: 'reviews' } };
const BAR: TelemetryTarget = { role: 'sidecar', namespace: 'bar', labels: { app: 'ratings' } };

function policy(resources: Resource[], target: TelemetryTarget, mesh: unknown = MESH_CONFIG): TelemetryPolicy {
  return telemetryPolicySection(buildSnapshot([meshConfig(mesh), ...resources], 1, BOOT), target).value;
}

describe('tracing', () => {
  test('no Telemetry: the default provider and defaultConfig sampling, request-id sampling on (Istio)', () => {
    const p = policy([], FOO);
    assert.deepEqual(p.client.tracing, {
      collector: { host: 'otel.observability.svc.cluster.local', port: 4318, path: '/v1/traces' },
      samplingPercent: 1,
      maxTagLength: 256,
      reportSpans: true,
      useRequestIdForSampling: true,
      customTags: [],
    });
  });
  test("100% sampling for one namespace, 0 elsewhere (the tracing task's pattern)", () => {
    const rs = [telemetry('istio-system', 'mesh-default', { tracing: [{ randomSamplingPercentage: 0 }] }), telemetry('foo', 'foo-tracing', { tracing: [{ randomSamplingPercentage: 100 }] })];
    assert.equal(policy(rs, FOO).server.tracing?.samplingPercent, 100);
    assert.equal(policy(rs, BAR).server.tracing?.samplingPercent, 0);
    assert.deepEqual(policy(rs, FOO).applied, ['istio-system/mesh-default', 'foo/foo-tracing']);
  });
  test("Istio's reference: disableSpanReporting for the workload foo keeps the trace, drops the spans", () => {
    const rs = [telemetry('foo', 'foo-tracing', { selector: { matchLabels: { app: 'reviews' } }, tracing: [{ disableSpanReporting: true }] })];
    assert.equal(policy(rs, FOO).client.tracing?.reportSpans, false);
    assert.equal(policy(rs, { ...FOO, labels: { app: 'other' } }).client.tracing?.reportSpans, true);
  });
  test('provider selection: a namespace picks another collector; match.mode limits it to one side', () => {
    const rs = [telemetry('foo', 't', { tracing: [{ match: { mode: 'SERVER' }, providers: [{ name: 'otel-b' }] }] })];
    const p = policy(rs, FOO);
    assert.equal(p.server.tracing?.collector.host, 'b.observability.svc.cluster.local');
    assert.equal(p.client.tracing?.collector.host, 'otel.observability.svc.cluster.local');
  });
  test('no provider anywhere: tracing off on both sides', () => {
    assert.deepEqual([policy([], FOO, { rootNamespace: 'istio-system' }).client.tracing, policy([], FOO, { rootNamespace: 'istio-system' }).server.tracing], [null, null]);
  });
  test('customTags replace the parent\'s whole; useRequestIdForTraceSampling overrides', () => {
    const rs = [
      telemetry('istio-system', 'mesh', { tracing: [{ customTags: { a: { literal: { value: '1' } } } }] }),
      telemetry('foo', 'ns', { tracing: [{ customTags: { b: { header: { name: 'X-Tenant', defaultValue: 'none' } }, c: { environment: { name: 'POD' } } }, useRequestIdForTraceSampling: false }] }),
    ];
    const t = policy(rs, FOO).client.tracing;
    assert.deepEqual(t?.customTags, [{ tag: 'b', header: { name: 'x-tenant', defaultValue: 'none' } }, { tag: 'c', environment: { name: 'POD', defaultValue: '' } }]);
    assert.equal(t?.useRequestIdForSampling, false);
  });
});

describe('metrics (the customizing-metrics task)', () => {
  test('remove a tag from every metric, both sides', () => {
    const p = policy([telemetry('istio-system', 'mesh', { metrics: [{ providers: [{ name: 'prometheus' }], overrides: [{ tagOverrides: { grpc_response_status: { operation: 'REMOVE' } } }] }] })], FOO);
    // Istio's ten metric classes, the gRPC message counts included.
    assert.equal(p.server.metrics.overrides.length, 10);
    for (const o of [...p.server.metrics.overrides, ...p.client.metrics.overrides]) assert.deepEqual(o.tags, [{ tag: 'grpc_response_status', remove: true }]);
  });
  test('GRPC_REQUEST_MESSAGES and GRPC_RESPONSE_MESSAGES are overridden like the others', () => {
    const p = policy(
      [
        telemetry('foo', 't', {
          metrics: [
            {
              overrides: [
                { match: { metric: 'GRPC_REQUEST_MESSAGES' }, disabled: true },
                { match: { metric: 'GRPC_RESPONSE_MESSAGES', mode: 'SERVER' }, tagOverrides: { grpc_response_status: { operation: 'REMOVE' }, shape: { value: "'streamed'" } } },
              ],
            },
          ],
        }),
      ],
      FOO,
    );
    assert.deepEqual(p.client.metrics.overrides, [{ metric: 'GRPC_REQUEST_MESSAGES', disabled: true, tags: [] }]);
    assert.deepEqual(p.server.metrics.overrides, [
      { metric: 'GRPC_REQUEST_MESSAGES', disabled: true, tags: [] },
      { metric: 'GRPC_RESPONSE_MESSAGES', disabled: false, tags: [{ tag: 'grpc_response_status', remove: true }, { tag: 'shape', remove: false, value: "'streamed'" }] },
    ]);
  });

  test('upsert a tag on REQUEST_COUNT, client side only', () => {
    const p = policy([telemetry('foo', 't', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' }, tagOverrides: { outcome: { value: "response.code >= 500 ? 'error' : 'ok'" } } }] }] })], FOO);
    assert.deepEqual(p.client.metrics.overrides, [{ metric: 'REQUEST_COUNT', disabled: false, tags: [{ tag: 'outcome', remove: false, value: "response.code >= 500 ? 'error' : 'ok'" }] }]);
    assert.deepEqual(p.server.metrics.overrides, []);
  });
  test('disable a metric; a workload Telemetry re-enables it over the namespace', () => {
    const rs = [
      telemetry('foo', 'ns', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_DURATION' }, disabled: true }] }] }),
      telemetry('foo', 'wl', { selector: { matchLabels: { app: 'reviews' } }, metrics: [{ overrides: [{ match: { metric: 'REQUEST_DURATION' }, disabled: false }] }] }),
    ];
    assert.equal(policy(rs, { ...FOO, labels: { app: 'x' } }).server.metrics.overrides.find((o) => o.metric === 'REQUEST_DURATION')?.disabled, true);
    assert.equal(policy(rs, FOO).server.metrics.overrides.find((o) => o.metric === 'REQUEST_DURATION')?.disabled, false);
  });
  test('later tag overrides win per tag, earlier ones stay', () => {
    const rs = [
      telemetry('istio-system', 'mesh', { metrics: [{ overrides: [{ tagOverrides: { a: { operation: 'REMOVE' }, b: { operation: 'REMOVE' } } }] }] }),
      telemetry('foo', 'ns', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT' }, tagOverrides: { a: { value: "'x'" } } }] }] }),
    ];
    assert.deepEqual(policy(rs, FOO).server.metrics.overrides.find((o) => o.metric === 'REQUEST_COUNT')?.tags, [{ tag: 'a', remove: false, value: "'x'" }, { tag: 'b', remove: true }]);
  });
  test('ALL_METRICS disabled at the root turns metrics off; a namespace override turns them back on', () => {
    const root = telemetry('istio-system', 'mesh', { metrics: [{ overrides: [{ match: { metric: 'ALL_METRICS' }, disabled: true }] }] });
    assert.equal(policy([root], BAR).server.metrics.enabled, false);
    const ns = telemetry('foo', 'ns', { metrics: [{ overrides: [{ match: { metric: 'REQUEST_COUNT' }, disabled: false }] }] });
    assert.equal(policy([root, ns], FOO).server.metrics.enabled, true);
  });
  test('providers naming no prometheus provider: metrics off', () => {
    assert.equal(policy([telemetry('foo', 't', { metrics: [{ providers: [{ name: 'otel' }] }] })], FOO).client.metrics.enabled, false);
  });
});

describe('reportingInterval', () => {
  test('the most specific one written wins; absent without one', () => {
    const rs = [telemetry('istio-system', 'mesh', { metrics: [{ reportingInterval: '30s' }] }), telemetry('foo', 'ns', { metrics: [{ reportingInterval: '5s' }] })];
    assert.equal(policy(rs, FOO).reportingIntervalMs, 5000);
    assert.equal(policy(rs, BAR).reportingIntervalMs, 30000);
    assert.equal(policy([], BAR).reportingIntervalMs, undefined);
  });
});

describe('access logging (the access-log task)', () => {
  test('no Telemetry, no default provider: MeshConfig\'s access log (null)', () => {
    assert.equal(policy([], FOO).server.accessLog, null);
  });
  test("errors only: the envoy provider filtered by response.code >= 400, in MeshConfig's format", () => {
    const p = policy([telemetry('istio-system', 'mesh', { accessLogging: [{ providers: [{ name: 'envoy' }], filter: { expression: 'response.code >= 400' } }] })], FOO);
    assert.deepEqual(p.server.accessLog, [{ provider: 'envoy', encoding: 'JSON', format: '', filter: 'response.code >= 400' }]);
  });
  test('disabled for one workload, kept for the others; match.mode disables one side', () => {
    const rs = [
      telemetry('istio-system', 'mesh', { accessLogging: [{ providers: [{ name: 'envoy' }] }] }),
      telemetry('foo', 'wl', { selector: { matchLabels: { app: 'reviews' } }, accessLogging: [{ match: { mode: 'CLIENT' }, disabled: true }] }),
    ];
    const p = policy(rs, FOO);
    assert.deepEqual([p.client.accessLog, p.server.accessLog?.map((x) => x.provider)], [[], ['envoy']]);
    assert.deepEqual(policy(rs, BAR).client.accessLog?.map((x) => x.provider), ['envoy']);
  });
  test("a provider's own logFormat (labels: JSON)", () => {
    const p = policy([telemetry('foo', 't', { accessLogging: [{ providers: [{ name: 'json-log' }] }] })], FOO);
    assert.deepEqual(p.client.accessLog, [{ provider: 'json-log', encoding: 'JSON', format: '{"code":"%RESPONSE_CODE%"}' }]);
  });
  test('defaultProviders.accessLogging applies without a Telemetry', () => {
    const p = policy([], FOO, { ...MESH_CONFIG, defaultProviders: { accessLogging: ['envoy'] } });
    assert.deepEqual(p.client.accessLog?.map((x) => x.provider), ['envoy']);
  });
});

describe('hierarchy', () => {
  test('the oldest selector-less Telemetry of a namespace wins; the first selecting one applies', () => {
    const rs = [telemetry('foo', 'b-first', { tracing: [{ randomSamplingPercentage: 5 }] }), telemetry('foo', 'a-second', { tracing: [{ randomSamplingPercentage: 7 }] })];
    assert.equal(policy(rs, FOO).client.tracing?.samplingPercent, 5);
  });
  test('targetRefs select a Gateway API gateway by its gateway-name label, never a sidecar', () => {
    const rs = [telemetry('foo', 'gw', { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' }], tracing: [{ randomSamplingPercentage: 50 }] })];
    assert.equal(policy(rs, { role: 'gateway', namespace: 'foo', labels: { 'gateway.networking.k8s.io/gateway-name': 'web' } }).client.tracing?.samplingPercent, 50);
    assert.equal(policy(rs, { role: 'sidecar', namespace: 'foo', labels: { 'gateway.networking.k8s.io/gateway-name': 'web' } }).client.tracing?.samplingPercent, 1);
  });
});
