/**
 * `node dist/bench/faults.js [--out FILE] [--hold SECONDS] [--rotation SECONDS] [--rounds N]`: a steady request
 * loop through two sidecars (examples/httpbin, sleep → httpbin `/get`, loopback mode) while, phase by phase,
 * certificates rotate every 5 s, a config every proxy refuses is applied and then withdrawn, the control plane is
 * killed and restarted, and httpbin's app is killed and restarted. Requests are counted per phase; the section is
 * appended to bench/RESULTS.md (`bash bench/run.sh` runs this after the other scenarios).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { describeMachine } from './machine.js';
import { phasedLoad } from './phased-load.js';
import type { SendRequest } from './phased-load.js';
import {
  REFUSED_MESH_CONFIG,
  ROTATING_MESH_CONFIG,
  applyAndSync,
  applyRefusedConfig,
  killApp,
  killControlPlane,
  pooledConnections,
  watchRotations,
} from './mesh-faults.js';
import type { FaultableMesh } from './mesh-faults.js';
import { renderFaults } from './faults-report.js';
import type { FaultRun } from './faults-report.js';
import { REPO_ROOT, runWeft, weftUp } from './weft-mesh.js';

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} takes a positive number, got ${String(args[i + 1])}`);
  return n;
}
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? (args[outIndex + 1] ?? '') : path.join(REPO_ROOT, 'bench', 'RESULTS.md');
const settings = { holdSeconds: option('--hold', 10), rotationSeconds: option('--rotation', 60), rounds: option('--rounds', 3), workers: 4 };
const log = (line: string): void => console.error(`[${new Date().toISOString()}] ${line}`);
const TIMEOUT_MS = 60_000;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-bench-faults-'));
const agent = new Agent({ keepAliveTimeout: 10_000 });
let up: Awaited<ReturnType<typeof weftUp>> | undefined;
try {
  fs.mkdirSync(path.join(work, 'config'));
  fs.writeFileSync(path.join(work, 'config', 'mesh.yaml'), ROTATING_MESH_CONFIG);
  const loadAverage = os.loadavg();
  up = await weftUp([path.join(REPO_ROOT, 'examples', 'httpbin'), path.join(work, 'config')], path.join(work, 'state'));
  const stateDir = up.stateDir;
  const m: FaultableMesh = { stateDir, mesh: up.mesh, weft: (a, input) => runWeft(['--state-dir', stateDir, ...a], input) };
  const sleepPod = m.mesh().workloads.find((w) => w.name === 'sleep')!;
  const httpbin = m.mesh().workloads.find((w) => w.name === 'httpbin')!;
  const send: SendRequest = async () => {
    const r = await agent.request({
      origin: `http://${sleepPod.outbound}`,
      method: 'GET',
      path: 'http://httpbin:8000/get',
      headers: { host: 'httpbin:8000' },
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    return { status: r.statusCode, body: await r.body.text() };
  };

  const hold = (): Promise<unknown> => sleep(settings.holdSeconds * 1000);
  const load = phasedLoad(send, 'baseline', settings.workers);
  const run: Omit<FaultRun, 'phases' | 'loadAverageEnd'> = { machine: describeMachine(), settings, loadAverage, controlRestarts: [], appRestarts: [] };
  try {
    log('baseline');
    await hold();

    log('rotation');
    await load.phase('rotation');
    const pooledBefore = await pooledConnections(httpbin);
    const rotation = await watchRotations(m, { minMs: settings.rotationSeconds * 1000, rotations: 2, timeoutMs: settings.rotationSeconds * 1000 + TIMEOUT_MS });
    const pooledAfter = await pooledConnections(httpbin);
    run.rotation = { ...rotation, pooledBefore, pooledAfter };

    log('nack');
    await load.phase('nack');
    run.nack = await applyRefusedConfig(m, REFUSED_MESH_CONFIG, TIMEOUT_MS);
    await hold();
    await load.phase('nack-withdrawn');
    await applyAndSync(m, ROTATING_MESH_CONFIG, TIMEOUT_MS);
    await hold();

    for (let round = 1; round <= settings.rounds; round++) {
      log(`control plane restart ${round}`);
      await load.phase(`control-plane-restart-${round}`);
      run.controlRestarts.push(await killControlPlane(m, TIMEOUT_MS));
      await hold();
    }
    for (let round = 1; round <= settings.rounds; round++) {
      log(`app restart ${round}`);
      await load.phase(`app-restart-${round}`);
      run.appRestarts.push(await killApp(m, 'httpbin', TIMEOUT_MS));
      await load.phase(`app-back-${round}`);
      await hold();
    }
  } finally {
    const phases = await load.stop();
    const section = renderFaults({ ...run, phases, loadAverageEnd: os.loadavg() });
    fs.appendFileSync(out, section);
    process.stdout.write(section);
    log(`appended to ${out}`);
  }
} finally {
  await up?.stop();
  await agent.close();
  fs.rmSync(work, { recursive: true, force: true });
}
