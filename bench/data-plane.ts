/**
 * Data-plane scenarios, each path measured in the same run against the same upstream:
 *   direct:  load generator → upstream nginx
 *   weft:    load generator → client sidecar outbound → mTLS → server sidecar inbound → upstream nginx
 *   nginx:   load generator → nginx client sidecar → mTLS → nginx server sidecar → upstream nginx
 * Max throughput (wrk, h2load), fixed-rate latency (open loop), CPU per 1000 requests and RSS of every sidecar.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from './weft-mesh.js';
import { startDataPlanePaths } from './data-plane-paths.js';
import type { PathName } from './data-plane-paths.js';
import { cpuSeconds, rssMiB, RssPeak } from './proc-stats.js';
import { h2load, wrk } from './load-tools.js';
import type { ThroughputRun } from './load-tools.js';
import type { OpenLoopOptions, OpenLoopResult } from './open-loop.js';
import { profileWhile, topSelfTime } from './cpu-profile.js';
import type { SelfTimeRow } from './cpu-profile.js';


export interface DataPlaneOptions {
  workDir: string;
  throughputSeconds: number;
  warmupSeconds: number;
  connections: number;
  h2Streams: number;
  latencyRate: number;
  latencySeconds: number;
  latencyConnections: number;
  /** 0 skips profiling. */
  profileSeconds: number;
  log: (line: string) => void;
}

export interface SidecarFigures {
  role: 'client' | 'server';
  pid: number;
  rssIdleMiB: number;
  rssLoadMiB: number;
  /** CPU seconds per 1000 requests at max throughput and at the fixed rate (= vCPU per 1000 rps). */
  cpuPer1000AtMax: number;
  cpuPer1000AtRate: number;
}

export interface PathFigures {
  name: PathName;
  http1: ThroughputRun;
  /** Undefined with a reason when this path does not speak HTTP/2 to its client. */
  http2: ThroughputRun | { unsupported: string };
  latency: OpenLoopResult;
  sidecars: SidecarFigures[];
}

export interface DataPlaneResults {
  pinning: string;
  upstream: string;
  paths: PathFigures[];
  profiles: { role: 'client' | 'server'; seconds: number; rps: number; top: SelfTimeRow[] }[];
  /** Why a profile could not be taken (the figures above stand without it). */
  profileError?: string;
}


function openLoopProcess(o: OpenLoopOptions, cpu: number | undefined): Promise<OpenLoopResult> {
  const main = path.join(REPO_ROOT, 'dist', 'bench', 'open-loop-main.js');
  const [cmd, args] = cpu === undefined ? [process.execPath, [main, JSON.stringify(o)]] : ['taskset', ['-c', String(cpu), process.execPath, main, JSON.stringify(o)]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + o.warmupSeconds + 60) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as OpenLoopResult);
      else reject(new Error(`open-loop generator exited ${String(code)}: ${err}`));
    });
  });
}

/** CPU seconds each pid spends while `work` runs. */
export async function cpuDuring<T>(pids: number[], work: () => Promise<T>): Promise<{ result: T; cpu: Map<number, number> }> {
  const before = new Map(pids.map((p) => [p, cpuSeconds(p)]));
  const result = await work();
  return { result, cpu: new Map(pids.map((p) => [p, cpuSeconds(p) - (before.get(p) ?? 0)])) };
}

export async function runDataPlane(o: DataPlaneOptions): Promise<DataPlaneResults> {
  const setup = await startDataPlanePaths(o.workDir, o.log);
  const { paths, loadCpu, pinning } = setup;
  try {
    const figures: PathFigures[] = [];
    for (const p of paths) {
      const pids = p.sidecars.map((s) => s.pid);
      const idle = new Map(pids.map((pid) => [pid, rssMiB(pid)]));
      const target = { url: p.url, ...(p.host ? { host: p.host } : {}) };
      o.log(`${p.name}: warm-up`);
      await wrk(target, { seconds: o.warmupSeconds, connections: o.connections, cpu: loadCpu });
      o.log(`${p.name}: max throughput, HTTP/1.1`);
      const peak = new RssPeak(pids);
      const max = await cpuDuring(pids, () => wrk(target, { seconds: o.throughputSeconds, connections: o.connections, cpu: loadCpu }));
      const rssLoad = peak.stop();
      let http2: ThroughputRun | { unsupported: string } = 'unsupported' in p.h2 ? p.h2 : { unsupported: '' };
      if ('url' in p.h2) {
        o.log(`${p.name}: max throughput, HTTP/2`);
        http2 = await h2load({ url: p.h2.url, ...(p.host ? { host: p.host } : {}) }, { seconds: o.throughputSeconds, connections: o.connections, streams: o.h2Streams, cpu: loadCpu });
      }
      o.log(`${p.name}: open loop at ${o.latencyRate} rps`);
      const origin = new URL(p.url).origin;
      const fixed = await cpuDuring(pids, () =>
        openLoopProcess(
          {
            origin,
            ...(p.host ? { host: p.host } : {}),
            rate: o.latencyRate,
            seconds: o.latencySeconds,
            warmupSeconds: Math.min(2, o.warmupSeconds),
            connections: o.latencyConnections,
          },
          loadCpu,
        ),
      );
      figures.push({
        name: p.name,
        http1: max.result,
        http2,
        latency: fixed.result,
        sidecars: p.sidecars.map((s) => ({
          role: s.role,
          pid: s.pid,
          rssIdleMiB: idle.get(s.pid) ?? NaN,
          rssLoadMiB: rssLoad.get(s.pid) ?? NaN,
          cpuPer1000AtMax: ((max.cpu.get(s.pid) ?? NaN) / max.result.requests) * 1000,
          // The open loop's warm-up requests ran on this CPU too: count every request it sent.
          cpuPer1000AtRate: ((fixed.cpu.get(s.pid) ?? NaN) / fixed.result.sent) * 1000,
        })),
      });
    }

    const profiles: DataPlaneResults['profiles'] = [];
    let profileError: string | undefined;
    if (o.profileSeconds > 0) {
      const weft = paths.find((p) => p.name === 'weft');
      for (const s of weft?.sidecars ?? []) {
        o.log(`profiling the weft ${s.role} sidecar under max load`);
        let rps = 0;
        const profile = await profileWhile(s.pid, async () => {
          rps = (await wrk({ url: weft!.url, host: weft!.host }, { seconds: o.profileSeconds, connections: o.connections, cpu: loadCpu })).rps;
        }).catch((err: unknown) => {
          profileError = (err as Error).message;
          return undefined;
        });
        if (!profile) break;
        fs.writeFileSync(path.join(o.workDir, `weft-${s.role}-sidecar.cpuprofile`), JSON.stringify(profile));
        profiles.push({ role: s.role, seconds: o.profileSeconds, rps, top: topSelfTime(profile, 20) });
      }
    }
    return {
      pinning,
      upstream: 'nginx (one process, `return 200` with a 1024-byte text/plain body, access log off), run as the `upstream` Workload of bench/bench-mesh.yaml; every path reaches this same process.',
      paths: figures,
      profiles,
      ...(profileError === undefined ? {} : { profileError }),
    };
  } finally {
    await setup.stop();
  }
}
