/**
 * A steady request loop through two sidecars (sleep → httpbin) while certificates rotate every 5 s and then while
 * a config every proxy refuses is applied: neither may cost a single request. Each phase also shows that the fault
 * really happened: new serials served on the wire, and the NACKs in `weft status` with the last good config kept.
 * (The control plane and app restarts are in mesh-faults-restart.test.ts, so each file stays short.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { callAs } from './support/mesh-process.js';
import { rotatingMesh } from './support/rotating-mesh.js';
import { phasedLoad } from '../bench/phased-load.js';
import type { PhaseFigures } from '../bench/phased-load.js';
import { assertLostNone, phaseNamed, reportPhases } from './support/phase-checks.js';
import { REFUSED_MESH_CONFIG, ROTATING_MESH_CONFIG, applyAndSync, applyRefusedConfig, proxyStatuses, watchRotations } from '../bench/mesh-faults.js';

const meshOf = rotatingMesh('mesh-faults-config');

test('certificates rotating every 5 s, then a config every proxy NACKs, lose no request', async (t) => {
  const mesh = meshOf();
  const sleepPod = mesh.workload('sleep');
  const load = phasedLoad(() => callAs(sleepPod, 'http://httpbin:8000/get'), 'rotation');
  let phases: PhaseFigures[] = [];
  let rotation: Awaited<ReturnType<typeof watchRotations>>;
  let nack: Awaited<ReturnType<typeof applyRefusedConfig>>;
  const versionsBefore = new Map((await proxyStatuses(mesh.stateDir)).map((p) => [p.id, p.ackedVersion]));
  try {
    rotation = await watchRotations(mesh, { minMs: 10_500, rotations: 2, timeoutMs: 30_000 });
    await load.phase('nack');
    nack = await applyRefusedConfig(mesh, REFUSED_MESH_CONFIG, 15_000);
    // Traffic keeps flowing on the last good config while the refused one stays the control plane's wish.
    await sleep(2000);
    await load.phase('restored');
    await applyAndSync(mesh, ROTATING_MESH_CONFIG, 15_000);
    await sleep(1000);
  } finally {
    phases = await load.stop();
  }

  reportPhases(t, phases);
  for (const [name, served] of Object.entries(rotation.served)) t.diagnostic(`${name} served serials ${served.map((c) => `${c.serialNumber} (from ${c.notBefore})`).join(', ')}`);

  // Rotation: each sidecar served three certificates in turn, each newer than the last.
  for (const [name, served] of Object.entries(rotation.served)) {
    assert.ok(served.length >= 3, `${name} served ${served.length} certificates`);
    assert.equal(new Set(served.map((c) => c.serialNumber)).size, served.length, `${name}: serials repeat`);
    for (let i = 1; i < served.length; i++) {
      assert.ok(Date.parse(served[i]!.notBefore) > Date.parse(served[i - 1]!.notBefore), `${name}: certificate ${i} is not newer`);
      assert.ok(Date.parse(served[i]!.notAfter) - Date.parse(served[i]!.notBefore) >= 10_000, `${name}: a 10 s certificate`);
    }
  }
  assert.deepEqual(Object.keys(rotation.served).sort(), ['httpbin', 'sleep']);
  assertLostNone(phaseNamed(phases, 'rotation'), 200);

  // NACK: each sidecar refused the config with the schema's reason and kept the version it had.
  const reason = 'invalid config at security.extensionProviders.0.timeoutMs: Too small: expected number to be >=1';
  assert.deepEqual(nack.nacks, {
    'sidecar/default/httpbin': { reason, keptVersion: versionsBefore.get('sidecar/default/httpbin') },
    'sidecar/default/sleep': { reason, keptVersion: versionsBefore.get('sidecar/default/sleep') },
  });
  // `weft status`: connected, STALE, still on the kept version, and the refused version with its reason.
  for (const id of ['sidecar/default/httpbin', 'sidecar/default/sleep']) {
    const row = nack.statusText.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';
    assert.match(row, new RegExp(`^${id} +yes +STALE +${versionsBefore.get(id)!} `));
    assert.ok(row.endsWith(`: ${reason}`), row);
  }
  assertLostNone(phaseNamed(phases, 'nack'), 100);

  // The good config again: the same compiled versions as before, acknowledged; the mesh still serves.
  const after = await proxyStatuses(mesh.stateDir);
  assert.deepEqual(new Map(after.map((p) => [p.id, p.ackedVersion])), versionsBefore);
  assertLostNone(phaseNamed(phases, 'restored'), 50);
});
