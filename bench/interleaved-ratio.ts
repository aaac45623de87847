/**
 * The same-run ratio, repeated: weft and the nginx pair measured by turns on one machine state, several rounds,
 * the order swapped every round. On a shared 2-core machine one pair of runs moves by 10-20% with the load of the
 * moment (the sidecars' socket writes take most of their CPU, and the kernel's share of it follows the scheduler);
 * the median of interleaved rounds is what a comparison of two trees can stand on.
 */
import { wrk } from './load-tools.js';
import { cpuDuring } from './data-plane.js';
import type { DataPlanePaths, PathSetup } from './data-plane-paths.js';

export interface RatioRound {
  weftRps: number;
  nginxRps: number;
  ratio: number;
  /** CPU seconds per 1000 requests, client / server sidecar. */
  weftCpu: [number, number];
  nginxCpu: [number, number];
  loadAvg: number;
}

export interface RatioRun {
  rounds: RatioRound[];
  median: { ratio: number; weftRps: number; nginxRps: number; weftCpu: [number, number]; nginxCpu: [number, number] };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function measure(p: PathSetup, seconds: number, connections: number, cpu: number | undefined): Promise<{ rps: number; cpu: [number, number] }> {
  const pids = p.sidecars.map((s) => s.pid);
  const run = await cpuDuring(pids, () => wrk({ url: p.url, ...(p.host ? { host: p.host } : {}) }, { seconds, connections, cpu }));
  const per1000 = (pid: number): number => ((run.cpu.get(pid) ?? NaN) / run.result.requests) * 1000;
  return { rps: run.result.rps, cpu: [per1000(pids[0]!), per1000(pids[1]!)] };
}

export async function interleavedRatio(
  setup: DataPlanePaths,
  o: { rounds: number; seconds: number; warmupSeconds: number; connections: number; loadAvg: () => number; log: (line: string) => void },
): Promise<RatioRun> {
  const weft = setup.paths.find((p) => p.name === 'weft')!;
  const nginx = setup.paths.find((p) => p.name === 'nginx')!;
  for (const p of [weft, nginx]) await wrk({ url: p.url, ...(p.host ? { host: p.host } : {}) }, { seconds: o.warmupSeconds, connections: o.connections, cpu: setup.loadCpu });
  const rounds: RatioRound[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const order = i % 2 === 0 ? [weft, nginx] : [nginx, weft];
    const got = new Map<string, { rps: number; cpu: [number, number] }>();
    for (const p of order) got.set(p.name, await measure(p, o.seconds, o.connections, setup.loadCpu));
    const w = got.get('weft')!;
    const n = got.get('nginx')!;
    rounds.push({ weftRps: w.rps, nginxRps: n.rps, ratio: w.rps / n.rps, weftCpu: w.cpu, nginxCpu: n.cpu, loadAvg: o.loadAvg() });
    o.log(`round ${i + 1}: weft ${w.rps.toFixed(0)} rps, nginx ${n.rps.toFixed(0)} rps, ratio ${(w.rps / n.rps).toFixed(3)}`);
  }
  const pick = (f: (r: RatioRound) => number): number => median(rounds.map(f));
  return {
    rounds,
    median: {
      ratio: pick((r) => r.ratio),
      weftRps: pick((r) => r.weftRps),
      nginxRps: pick((r) => r.nginxRps),
      weftCpu: [pick((r) => r.weftCpu[0]), pick((r) => r.weftCpu[1])],
      nginxCpu: [pick((r) => r.nginxCpu[0]), pick((r) => r.nginxCpu[1])],
    },
  };
}
