/**
 * A steady request loop through two sidecars (sleep → httpbin), with certificates rotating every 5 s throughout,
 * while the control plane is killed and restarted, and then while httpbin's app is killed and restarted by
 * `weft up`. The control plane is not on the request path: its restart costs nothing, and the proxies reconnect to
 * the new process. A killed app costs the requests that arrive until it is back: those in flight are reset and
 * those that reach httpbin's sidecar before the new process listens are refused, both 503 (weft retries nothing
 * yet; Istio's default retry policy would retry connect-failure, refused-stream and unavailable twice); while the
 * workload is Restarting its endpoint is out of sleep's config, so sleep's sidecar answers 503 "no healthy
 * upstream", until the new process listens and the endpoint is pushed again. None fails after that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { callAs } from './support/mesh-process.js';
import { rotatingMesh } from './support/rotating-mesh.js';
import { phasedLoad } from '../bench/phased-load.js';
import type { PhaseFigures } from '../bench/phased-load.js';
import { assertLostNone, phaseNamed, reportPhases } from './support/phase-checks.js';
import { killApp, killControlPlane } from '../bench/mesh-faults.js';

const meshOf = rotatingMesh('mesh-faults-restart');

test('the control plane killed and restarted under load loses no request; every proxy reconnects to the new one', async (t) => {
  const mesh = meshOf();
  const sleepPod = mesh.workload('sleep');
  const load = phasedLoad(() => callAs(sleepPod, 'http://httpbin:8000/get'), 'before');
  let phases: PhaseFigures[] = [];
  let restart: Awaited<ReturnType<typeof killControlPlane>> | undefined;
  const controlLog = path.join(mesh.stateDir, 'logs', 'control.log');
  let logBefore = 0;
  try {
    await sleep(1000);
    await load.untilSent(50, 20_000);
    await load.phase('control-plane-restart');
    logBefore = fs.statSync(controlLog).size;
    restart = await killControlPlane(mesh, 30_000);
    // Past the proxies' next renewal (every 5 s), which the new control plane signs.
    await sleep(5500);
  } finally {
    phases = await load.stop();
  }
  reportPhases(t, phases);
  t.diagnostic(`control plane back in ${restart?.restartedMs} ms, proxies reconnected in ${restart?.reconnectedMs} ms`);
  assert.deepEqual(restart?.proxies, ['sidecar/default/httpbin', 'sidecar/default/sleep']);
  assertLostNone(phaseNamed(phases, 'before'), 50);
  assertLostNone(phaseNamed(phases, 'control-plane-restart'), 300);
  // Each sidecar renewed its certificate from the restarted control plane (what it logged since the kill).
  const since = fs.readFileSync(controlLog).subarray(logBefore).toString('utf8');
  const renewed = since.split('\n').filter((l) => l.includes('"certificate renewed"'));
  for (const sa of ['httpbin', 'sleep']) assert.ok(renewed.some((l) => l.includes(`/sa/${sa}"`)), `no renewal for ${sa} since the restart`);
});

test("httpbin's app killed under load: 503 until its endpoint is back, none after", async (t) => {
  const mesh = meshOf();
  const sleepPod = mesh.workload('sleep');
  const load = phasedLoad(() => callAs(sleepPod, 'http://httpbin:8000/get'), 'before');
  let phases: PhaseFigures[] = [];
  let restart: Awaited<ReturnType<typeof killApp>> | undefined;
  try {
    await sleep(1000);
    await load.untilSent(50, 20_000);
    await load.phase('app-restart');
    restart = await killApp(mesh, 'httpbin', 30_000);
    await load.phase('app-back');
    await sleep(2000);
    await load.untilSent(100, 20_000);
  } finally {
    phases = await load.stop();
  }
  reportPhases(t, phases);
  t.diagnostic(`app restarted in ${restart?.restartedMs} ms, listening after ${restart?.listeningMs} ms, endpoints back after ${restart?.endpointsBackMs} ms`);
  assertLostNone(phaseNamed(phases, 'before'), 50);
  const down = phaseNamed(phases, 'app-restart');
  assert.deepEqual(Object.keys(down.outcomes).filter((o) => o !== '200' && o !== '503'), [], 'only 200 or 503');
  assert.ok((down.outcomes['503'] ?? 0) > 0, 'a killed app with no retry in front of it costs requests');
  for (const r of Object.keys(down.reasons)) {
    assert.match(r, /^503: (upstream connect error or disconnect\/reset before headers\. reset reason: (ECONNREFUSED|ECONNRESET)|no healthy upstream)$/);
  }
  assertLostNone(phaseNamed(phases, 'app-back'), 100);
});
