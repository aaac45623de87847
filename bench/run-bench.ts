/** One bench run: every scenario in order, each failure recorded in place of its figures rather than ending the run. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeMachine } from './machine.js';
import { runDataPlane } from './data-plane.js';
import type { DataPlaneOptions } from './data-plane.js';
import { runH2Grpc } from './h2-grpc.js';
import { H2GRPC_SETTINGS } from './h2-grpc-settings.js';
import { bookinfoUp, csrSigningRate } from './control-plane.js';
import { scaleRun } from './scale-run.js';
import type { BenchResults } from './report.js';

export type BenchMode = 'full' | 'smoke';

export interface BenchOptions {
  mode: BenchMode;
  /** Scratch directory for state directories, nginx configs and profiles; removed by the caller. */
  workDir: string;
  command: string;
  log: (line: string) => void;
  /** Leave out the HTTP/2 and gRPC scenario (test/bench-h2-grpc-smoke.test.ts runs it on its own). */
  skipH2Grpc?: boolean;
  /** Run one half only (the smoke tests run each half in its own file, to keep each file short). */
  only?: 'data-plane' | 'control-plane';
}

/** What a half left out reports in place of its figures. */
const NOT_ASKED = { error: 'not run: only the other half was asked for' };

const SETTINGS = {
  full: {
    throughputSeconds: 15,
    warmupSeconds: 3,
    connections: 32,
    h2Streams: 10,
    latencyRate: 1000,
    latencySeconds: 30,
    latencyConnections: 32,
    profileSeconds: 10,
    csrs: 2000,
    services: 1000,
    workloads: 2000,
    proxies: [500, 2000],
    scaleTimeoutSeconds: 180,
    controlProfileSeconds: 15,
  },
  smoke: {
    throughputSeconds: 2,
    warmupSeconds: 1,
    connections: 16,
    h2Streams: 10,
    latencyRate: 200,
    latencySeconds: 2,
    latencyConnections: 8,
    profileSeconds: 1,
    csrs: 50,
    services: 10,
    workloads: 20,
    proxies: [20],
    scaleTimeoutSeconds: 30,
    controlProfileSeconds: 1,
  },
} as const;

async function attempt<T>(what: string, log: (l: string) => void, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (err) {
    log(`${what} failed: ${(err as Error).message}`);
    return { error: (err as Error).message.split('\n')[0] ?? String(err) };
  }
}

export async function runBench(o: BenchOptions): Promise<BenchResults> {
  const s = SETTINGS[o.mode];
  const machine = describeMachine();
  const loadAverage = os.loadavg();
  const dpOptions: DataPlaneOptions = {
    workDir: path.join(o.workDir, 'data-plane'),
    throughputSeconds: s.throughputSeconds,
    warmupSeconds: s.warmupSeconds,
    connections: s.connections,
    h2Streams: s.h2Streams,
    latencyRate: s.latencyRate,
    latencySeconds: s.latencySeconds,
    latencyConnections: s.latencyConnections,
    profileSeconds: s.profileSeconds,
    log: o.log,
  };
  fs.mkdirSync(dpOptions.workDir, { recursive: true });
  const dataPlane = o.only === 'control-plane' ? NOT_ASKED : await attempt('data plane', o.log, () => runDataPlane(dpOptions));
  const h2grpc = o.skipH2Grpc || o.only === 'control-plane' ? undefined : await attempt('HTTP/2 and gRPC', o.log, () => runH2Grpc({ ...H2GRPC_SETTINGS[o.mode], workDir: path.join(o.workDir, 'h2-grpc'), log: o.log }));
  const controlPlane = o.only !== 'data-plane';
  if (controlPlane) o.log('control plane: CSR signing rate');
  const csr = controlPlane ? await attempt('CSR signing', o.log, () => csrSigningRate(path.join(o.workDir, 'ca'), s.csrs)) : NOT_ASKED;
  if (controlPlane) o.log('control plane: weft up examples/bookinfo');
  const bookinfo = controlPlane ? await attempt('bookinfo', o.log, () => bookinfoUp(path.join(o.workDir, 'bookinfo'))) : NOT_ASKED;
  const scale: BenchResults['scale'] = [];
  for (const proxies of controlPlane ? s.proxies : []) {
    scale.push(
      await attempt(`scale with ${proxies} proxies`, o.log, () =>
        scaleRun({
          stateDir: path.join(o.workDir, `scale-${proxies}`),
          services: s.services,
          workloads: s.workloads,
          proxies,
          perProcess: 500,
          timeoutMs: s.scaleTimeoutSeconds * 1000,
          profileMs: s.controlProfileSeconds * 1000,
          log: o.log,
        }),
      ),
    );
  }
  const { proxies, ...numbers } = s;
  return { machine, mode: o.mode, command: o.command, loadAverage, loadAverageEnd: os.loadavg(), settings: { ...numbers, proxies: proxies.join('/') }, dataPlane, ...(h2grpc === undefined ? {} : { h2grpc }), csr, bookinfo, scale };
}
