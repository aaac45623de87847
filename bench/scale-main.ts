/**
 * `node dist/bench/scale-main.js [--proxies N] [--sidecar-scope] [--replicas 3] [--changes N] [--timeout-s 180] [--control-node-args '--cpu-prof …'] [--control-env 'MALLOC_ARENA_MAX=2 …'] [--no-allocator-settings] [--sim-node-args '--cpu-prof …'] [--out FILE]`: the control plane's scale scenario
 * alone (services and workloads applied, N simulated proxies, one change timed to each ACK), without the rest of
 * the bench; with `--replicas 3`, three control-plane replicas on a 3-member etcd on loopback. Prints the result as JSON, with the machine's load average before and after.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scaleRun } from './scale-run.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const proxies = Number(flag('--proxies') ?? 2000);
const log = (line: string): void => console.error(`[${new Date().toISOString()}] ${line}`);
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-scale-'));
const loadAverage = os.loadavg();
try {
  const result = await scaleRun({
    stateDir: path.join(workDir, 'scale'),
    services: 1000,
    workloads: 2000,
    proxies,
    perProcess: 500,
    timeoutMs: Number(flag('--timeout-s') ?? 180) * 1000,
    profileMs: 0,
    sidecarScope: args.includes('--sidecar-scope'),
    replicas: Number(flag('--replicas') ?? 1),
    changes: Number(flag('--changes') ?? 1),
    ...(flag('--control-node-args') === undefined ? {} : { controlNodeArgs: (flag('--control-node-args') ?? '').split(' ').filter((a) => a !== '') }),
    ...(flag('--control-env') === undefined ? {} : { controlEnv: Object.fromEntries((flag('--control-env') ?? '').split(' ').filter((a) => a.includes('=')).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])) }),
    allocatorSettings: !args.includes('--no-allocator-settings'),
    ...(flag('--sim-node-args') === undefined ? {} : { simNodeArgs: (flag('--sim-node-args') ?? '').split(' ').filter((a) => a !== '') }),
    log,
  });
  const text = `${JSON.stringify({ when: new Date().toISOString(), loadAverage, loadAverageEnd: os.loadavg(), cpus: os.cpus().length, result }, null, 2)}\n`;
  const out = flag('--out');
  if (out !== undefined) fs.writeFileSync(out, text);
  process.stdout.write(text);
} finally {
  fs.rmSync(workDir, { recursive: true, force: true });
}
