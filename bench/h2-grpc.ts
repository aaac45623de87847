/**
 * HTTP/2 and gRPC through a pair of sidecars, every path in the same run against the same upstream:
 *   direct: h2load → upstream (h2c)
 *   weft:   h2load → client sidecar outbound (h2c, `:authority` naming the service) → HTTP/2 over mTLS → server
 *           sidecar → upstream (h2c)
 *   nginx:  h2load → nginx client sidecar (h2c) → HTTP/2 over mTLS (grpc_pass) → nginx server sidecar → upstream (h2c)
 * HTTP/2: closed-loop maximum throughput against nginx answering 200 with 1 KB. gRPC: unary `Say` calls to a
 * @grpc/grpc-js server, closed-loop maximum and a fixed offered rate; latency percentiles from h2load's per-request
 * log; CPU seconds per 1000 calls of each sidecar from /proc.
 */
import fs from 'node:fs';
import path from 'node:path';
import { freeListenPort } from './listen-port.js';
import { weftUp } from './weft-mesh.js';
import type { WeftUp } from './weft-mesh.js';
import { startNginxH2Pair } from './nginx-h2-pair.js';
import type { NginxH2Pair } from './nginx-h2-pair.js';
import { childPids, pinToCpu } from './proc-stats.js';
import { h2load } from './load-tools.js';
import type { H2loadOptions, ThroughputRun } from './load-tools.js';
import { cpuDuring } from './data-plane.js';
import { cpuLayout } from './cpu-layout.js';
import { GRPC_HEADERS, SAY_PATH, probeGrpc, sayRequestFrame } from './grpc-body.js';
import type { ProbeResult } from './grpc-body.js';
import { profileWhile, topSelfTime } from './cpu-profile.js';
import type { SelfTimeRow } from './cpu-profile.js';

export type H2PathName = 'direct' | 'weft' | 'nginx';

export interface H2GrpcOptions {
  workDir: string;
  /** Length of each measured run; in `requests` mode (smoke) each run is a count of requests instead. */
  seconds: number;
  requests?: number;
  /** A run of this many seconds before each path's measurements (0: none). */
  warmupSeconds: number;
  connections: number;
  streams: number;
  /** Offered calls per second of the gRPC fixed-rate run, spread over `rateConnections` clients. */
  grpcRate: number;
  rateConnections: number;
  rateStreams: number;
  /** Size of the EchoRequest message text. */
  messageBytes: number;
  /** Seconds of gRPC load under the sampling profiler, per weft sidecar; 0 skips profiling. */
  profileSeconds: number;
  log: (line: string) => void;
}

export interface SidecarCpu {
  role: 'client' | 'server';
  pid: number;
  /** CPU seconds per 1000 requests (or calls) of the run. */
  cpuPer1000: number;
}

export interface MeasuredRun {
  run: ThroughputRun;
  sidecars: SidecarCpu[];
}

export interface H2PathFigures {
  name: H2PathName;
  max: MeasuredRun;
}

export interface GrpcPathFigures {
  name: H2PathName;
  /** The one call made by hand before the load: HTTP 200 with grpc-status 0 on every path. */
  probe: ProbeResult;
  max: MeasuredRun;
  fixed: MeasuredRun;
}

export interface H2GrpcResults {
  pinning: string;
  http2Upstream: string;
  grpcUpstream: string;
  messageBytes: number;
  grpcRate: number;
  http2: H2PathFigures[];
  grpc: GrpcPathFigures[];
  /** The weft sidecars' top self time under closed-loop gRPC load. */
  profiles: { role: 'client' | 'server'; seconds: number; rps: number; top: SelfTimeRow[] }[];
  /** Why a profile could not be taken (the figures above stand without it). */
  profileError?: string;
}

interface PathSetup {
  name: H2PathName;
  url: string;
  authority?: string;
  sidecars: { role: 'client' | 'server'; pid: number }[];
}

async function measure(p: PathSetup, o: H2loadOptions, logFile: string): Promise<MeasuredRun> {
  const pids = p.sidecars.map((s) => s.pid);
  const { result, cpu } = await cpuDuring(pids, () => h2load({ url: p.url, ...(p.authority ? { host: p.authority } : {}) }, { ...o, logFile }));
  fs.rmSync(logFile, { force: true });
  // The scratch directory is the run's own; the command reads the same without it.
  result.command = result.command.split(path.dirname(logFile)).join('$WORK');
  return { run: result, sidecars: p.sidecars.map((s) => ({ role: s.role, pid: s.pid, cpuPer1000: ((cpu.get(s.pid) ?? NaN) / result.requests) * 1000 })) };
}

export async function runH2Grpc(o: H2GrpcOptions): Promise<H2GrpcResults> {
  const { loadCpu, clientCpu, serverCpu, pinning } = cpuLayout();
  fs.mkdirSync(o.workDir, { recursive: true });
  const body = path.join(o.workDir, 'say-request.bin');
  const frame = sayRequestFrame('x'.repeat(o.messageBytes));
  fs.writeFileSync(body, frame);
  const logFile = path.join(o.workDir, 'h2load.log');
  // Duration mode without h2load's own warm-up (each path has its warm-up run), so /proc's CPU seconds and the
  // requests counted cover the same period.
  const span: Pick<H2loadOptions, 'seconds' | 'requests' | 'warmUpSeconds'> = o.requests !== undefined ? { requests: o.requests } : { seconds: o.seconds, warmUpSeconds: 0 };
  const closed = { ...span, connections: o.connections, streams: o.streams, cpu: loadCpu };
  const warm = async (p: PathSetup, extra: Partial<H2loadOptions>): Promise<void> => {
    if (o.warmupSeconds <= 0) return;
    o.log(`${p.name}: warm-up`);
    await h2load({ url: p.url, ...(p.authority ? { host: p.authority } : {}) }, { seconds: o.warmupSeconds, warmUpSeconds: 0, connections: o.connections, streams: o.streams, cpu: loadCpu, ...extra });
  };

  let mesh: WeftUp | undefined;
  let pair: NginxH2Pair | undefined;
  try {
    o.log('starting weft up bench/h2-mesh.yaml');
    mesh = await weftUp([path.join('bench', 'h2-mesh.yaml')], path.join(o.workDir, 'state'));
    const m = mesh.mesh();
    const pod = (name: string): { podIP: string; appPid: number; proxyPid: number; outbound: string } => {
      const w = m.workloads.find((x) => x.name === name);
      if (!w?.appPid || !w.proxyPid) throw new Error(`bench mesh lacks the ${name} pod`);
      return { podIP: w.podIP, appPid: w.appPid, proxyPid: w.proxyPid, outbound: w.outbound };
    };
    const upstream = pod('upstream');
    const grpcEcho = pod('grpc-echo');
    const client = pod('client');
    const upstreamNginx = childPids(upstream.appPid)[0];
    if (upstreamNginx === undefined) throw new Error('the upstream pod runs no nginx');
    if (loadCpu !== undefined) {
      pinToCpu(upstreamNginx, loadCpu);
      pinToCpu(grpcEcho.appPid, loadCpu);
    }
    if (clientCpu !== undefined && serverCpu !== undefined) {
      pinToCpu(client.proxyPid, clientCpu);
      pinToCpu(upstream.proxyPid, serverCpu);
      pinToCpu(grpcEcho.proxyPid, serverCpu);
    }
    const startPair = async (name: string, app: string): Promise<NginxH2Pair> => {
      const started = await startNginxH2Pair({ dir: path.join(o.workDir, name), caDir: path.join(mesh!.stateDir, 'ca'), trustDomain: 'cluster.local', app, ports: [await freeListenPort(), await freeListenPort()] });
      if (clientCpu !== undefined && serverCpu !== undefined) {
        pinToCpu(started.clientPid, clientCpu);
        pinToCpu(started.serverPid, serverCpu);
      }
      return started;
    };
    const pathsTo = (directUrl: string, authority: string, serverPid: number, nginx: NginxH2Pair, suffix: string): PathSetup[] => [
      { name: 'direct', url: `${directUrl}${suffix}`, sidecars: [] },
      {
        name: 'weft',
        url: `http://${client.outbound}${suffix}`,
        authority,
        sidecars: [
          { role: 'client', pid: client.proxyPid },
          { role: 'server', pid: serverPid },
        ],
      },
      {
        name: 'nginx',
        url: `${nginx.clientUrl.replace(/\/$/, '')}${suffix}`,
        sidecars: [
          { role: 'client', pid: nginx.clientPid },
          { role: 'server', pid: nginx.serverPid },
        ],
      },
    ];

    o.log('HTTP/2: starting the nginx HTTP/2 pair');
    pair = await startPair('nginx-h2-pair', `${upstream.podIP}:8081`);
    const http2: H2PathFigures[] = [];
    for (const p of pathsTo(`http://${upstream.podIP}:8081`, 'upstream-h2:8000', upstream.proxyPid, pair, '/')) {
      await warm(p, {});
      o.log(`${p.name}: HTTP/2 max throughput`);
      http2.push({ name: p.name, max: await measure(p, closed, logFile) });
    }
    await pair.stop();

    o.log('gRPC: starting the nginx gRPC pair');
    pair = await startPair('nginx-grpc-pair', `${grpcEcho.podIP}:50051`);
    const grpc: GrpcPathFigures[] = [];
    const call: Partial<H2loadOptions> = { data: body, headers: GRPC_HEADERS };
    const fixedRun = { ...span, connections: o.rateConnections, streams: o.rateStreams, cpu: loadCpu, ...call, rpsPerClient: Math.max(1, Math.round(o.grpcRate / o.rateConnections)) };
    const grpcPaths = pathsTo(`http://${grpcEcho.podIP}:50051`, 'grpc-echo:50051', grpcEcho.proxyPid, pair, SAY_PATH);
    for (const p of grpcPaths) {
      const probe = await probeGrpc(new URL(p.url).origin, p.authority ?? new URL(p.url).host, frame);
      if (probe.status !== 200 || probe.grpcStatus !== '0') throw new Error(`gRPC call through ${p.name} answered HTTP ${probe.status}, grpc-status ${String(probe.grpcStatus)} ${probe.grpcMessage ?? ''}`);
      await warm(p, call);
      o.log(`${p.name}: gRPC max calls per second`);
      const max = await measure(p, { ...closed, ...call }, logFile);
      o.log(`${p.name}: gRPC at ${o.grpcRate} calls/s`);
      const fixed = await measure(p, fixedRun, logFile);
      grpc.push({ name: p.name, probe, max, fixed });
    }
    const profiles: H2GrpcResults['profiles'] = [];
    let profileError: string | undefined;
    const weft = grpcPaths.find((p) => p.name === 'weft')!;
    for (const s of o.profileSeconds > 0 ? weft.sidecars : []) {
      o.log(`profiling the weft ${s.role} sidecar under gRPC load`);
      let rps = 0;
      const profile = await profileWhile(s.pid, async () => {
        rps = (await h2load({ url: weft.url, host: weft.authority }, { ...closed, ...call, seconds: o.profileSeconds, warmUpSeconds: 0 })).rps;
      }).catch((err: unknown) => {
        profileError = (err as Error).message;
        return undefined;
      });
      if (!profile) break;
      profiles.push({ role: s.role, seconds: o.profileSeconds, rps, top: topSelfTime(profile, 15) });
    }
    return {
      pinning,
      http2Upstream: 'nginx (one process, `return 200` with a 1024-byte text/plain body, access log off, `listen ... http2`: h2c), the `upstream` Workload of bench/h2-mesh.yaml behind the Service `upstream-h2` (port name `http2`).',
      grpcUpstream: '@grpc/grpc-js server (bench/grpc-upstream.ts, unary `weft.echo.Echo/Say` answering the message and its pod name), the `grpc-echo` Workload of bench/h2-mesh.yaml (port name `grpc`).',
      messageBytes: frame.length,
      grpcRate: o.grpcRate,
      http2,
      grpc,
      profiles,
      ...(profileError === undefined ? {} : { profileError }),
    };
  } finally {
    await pair?.stop();
    await mesh?.stop();
  }
}
