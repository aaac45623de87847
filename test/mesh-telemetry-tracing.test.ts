/**
 * Telemetry tracing on a running mesh, spans received by a real OTLP receiver: MeshConfig samples nothing; a
 * Telemetry selecting sleep samples all its requests and tags its spans; one selecting httpbin disables its span
 * reporting, so the trace goes on (httpbin's app sees a sampled context) but only sleep's span arrives.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tracingFor } from '../src/proxy/telemetry/telemetry-policy.js';
import { untilRunning } from './support/config-sync.js';
import { callAs, eventually, startMesh } from './support/mesh-process.js';
import type { MeshRun } from './support/mesh-process.js';
import { startOtlpReceiver, traceMeshTo } from './support/otlp-receiver.js';
import type { OtlpReceiver } from './support/otlp-receiver.js';

let mesh: MeshRun;
let receiver: OtlpReceiver;

before(async () => {
  receiver = await startOtlpReceiver();
  mesh = await startMesh(['examples/httpbin'], { isolation: 'none' });
  await traceMeshTo(mesh, receiver);
});
after(async () => {
  const dir = mesh?.stateDir;
  await mesh?.stop();
  await receiver?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const TELEMETRY = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: sleep-tracing, namespace: default }
spec:
  selector: { matchLabels: { app: sleep } }
  tracing:
  - randomSamplingPercentage: 100
    customTags:
      team: { literal: { value: payments } }
      tenant: { header: { name: x-tenant, defaultValue: none } }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: httpbin-tracing, namespace: default }
spec:
  selector: { matchLabels: { app: httpbin } }
  tracing:
  - disableSpanReporting: true
`;

test('per-workload sampling, custom tags and disabled span reporting, applied without a restart', async () => {
  const sleep = mesh.workload('sleep');
  // MeshConfig samples 0%: nothing arrives.
  const before = await callAs(sleep, 'http://httpbin:8000/headers');
  assert.equal(before.status, 200);
  assert.match(before.body, /-00"/, 'httpbin saw an unsampled traceparent');

  const applied = await mesh.weft(['apply', '-f', '-'], TELEMETRY);
  assert.equal(applied.code, 0, applied.stderr);
  // Both sidecars must run their Telemetry before the calls: httpbin's with reporting still on would send a span.
  await untilRunning(
    mesh,
    'sleep and httpbin to run their Telemetry',
    (c, id) => (id === 'sidecar/default/sleep' ? tracingFor(c, 'client')?.samplingPercent === 100 : tracingFor(c, 'server')?.reportSpans === false),
    ['sidecar/default/sleep', 'sidecar/default/httpbin'],
  );
  const sampled = await callAs(sleep, 'http://httpbin:8000/headers', { headers: { 'x-tenant': 'acme' } });
  assert.equal(sampled.status, 200);
  const span = await eventually('a span of sleep, sampled by its Telemetry', () => receiver.spans.find((s) => s.service === 'sleep.default'), 30_000);
  assert.equal(span.kind, 'SPAN_KIND_CLIENT');
  assert.equal(span.attributes['team'], 'payments');
  assert.equal(span.attributes['tenant'], 'acme');
  // httpbin joined the sampled trace (its app saw the flag) but reported no span.
  const seen = await callAs(sleep, 'http://httpbin:8000/headers');
  assert.match(seen.body, /-01"/, 'httpbin saw a sampled traceparent');
  await eventually('sleep reports the later request too', () => (receiver.spans.filter((s) => s.service === 'sleep.default').length >= 2 ? true : undefined), 30_000);
  assert.deepEqual(receiver.spans.filter((s) => s.service === 'httpbin.default'), []);
});
