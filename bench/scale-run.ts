/**
 * The control plane's scale scenario: services and workloads applied through the API, simulated proxies on real
 * mTLS push streams (to one control plane on SQLite, or spread over replicas on a 3-member etcd), one change timed
 * from the apply to each proxy's ACK, the control planes' RSS and CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import 'reflect-metadata';
import { ControlClient } from '../src/cli/client.js';
import { stateDirLayout } from '../src/mesh/state-dir.js';
import { waitForPort } from '../src/mesh/wait-for-port.js';
import { ensureSealingKey } from '../src/mesh/local-store.js';
import { freeListenPort } from './listen-port.js';
import { REPO_ROOT, WEFT_BIN } from './weft-mesh.js';
import { percentile } from './open-loop.js';
import { cpuSeconds, rssMiB, RssPeak } from './proc-stats.js';
import type { SimulatedProxiesInput } from './simulated-proxies-main.js';
import { profileWhile, topSelfTime } from './cpu-profile.js';
import { podIPOf, scaleResources, scaleSidecars } from './scale-resources.js';
import { readLines, startBenchEtcd, stopChild } from './scale-processes.js';
import { memoryPhases, MEMORY_SAMPLER } from './memory-breakdown.js';
import { controlPlaneEnv } from '../src/control/allocator-settings.js';
import { CpuTimeline } from './cpu-timeline.js';
import type { ScaleResult } from './scale-result.js';
import { firstAckAfter, laterChanges } from './scale-later-changes.js';
import { replicaKey, replicaOrder } from '../src/proxy/control/replica-order.js';

export type { ScaleResult };

export interface ScaleOptions {
  stateDir: string;
  services: number;
  workloads: number;
  proxies: number;
  /** Simulated proxies per process. */
  perProcess: number;
  /** Give up waiting for connections or ACKs after this long. */
  timeoutMs: number;
  /** Profile the control plane for this long while the proxies connect; 0 skips. */
  profileMs: number;
  /**
   * Each service's workloads get a Sidecar (workloadSelector) whose egress hosts import their own service, svc-0
   * (the one the change touches) and the next SIDECAR_NEIGHBOURS services: Istio's Sidecar scoping at its finest grain.
   */
  sidecarScope?: boolean;
  /**
   * Control-plane replicas: 1 runs one on SQLite; more run them on a 3-member etcd on loopback, each proxy given
   * every replica and connected to the one its own order puts first (src/proxy/control/replica-order.ts, by
   * namespace and service account, as a proxy chooses), the change applied through the first.
   */
  replicas?: number;
  /** Extra node flags for the control plane (e.g. --cpu-prof, --heap-prof), for profiling a run. */
  controlNodeArgs?: string[];
  /** Extra environment for the control plane (e.g. MALLOC_ARENA_MAX=2), for one-variable memory experiments. */
  controlEnv?: Record<string, string>;
  /** false: start the control planes without the allocator settings `weft up` and the manifests give them. */
  allocatorSettings?: boolean;
  /** Extra node flags for the simulated-proxy processes (e.g. --cpu-prof). */
  simNodeArgs?: string[];
  /** Changes to time (default 1); those after the first are reported in `laterChanges` (scale-later-changes.ts). */
  changes?: number;
  log: (line: string) => void;
}

interface ProxyRow {
  namespace: string;
  name: string;
  connected: boolean;
  sentVersion: string | null;
  ackedVersion: string | null;
}

export async function scaleRun(o: ScaleOptions): Promise<ScaleResult> {
  const layout = stateDirLayout(o.stateDir);
  fs.mkdirSync(layout.root, { recursive: true });
  const replicas = Math.max(1, o.replicas ?? 1);
  const etcd = replicas > 1 ? await startBenchEtcd(path.join(layout.root, 'etcd')) : undefined;
  const storeArgs = etcd === undefined ? [] : ['--store', 'etcd', '--etcd-endpoints', etcd.endpoints.join(','), '--sealing-key', ensureSealingKey(layout)];
  let controlErr = '';
  const controls: { child: ChildProcess; port: number }[] = [];
  const memoryFiles: string[] = [];
  let connectWall = NaN;
  let changeWallAt = NaN;
  const startControl = async (): Promise<void> => {
    const port = await freeListenPort();
    const samples = path.join(layout.root, `memory-${controls.length}.jsonl`);
    fs.rmSync(samples, { force: true });
    memoryFiles.push(samples);
    const child = spawn(process.execPath, ['--import', MEMORY_SAMPLER, ...(o.controlNodeArgs ?? []), WEFT_BIN, '--state-dir', layout.root, 'control', '--listen', `127.0.0.1:${port}`, ...storeArgs], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...(o.allocatorSettings === false ? process.env : controlPlaneEnv(process.env)), ...o.controlEnv, WEFT_MEMORY_SAMPLES: samples, WEFT_MEMORY_SAMPLE_MS: '250' },
    });
    child.stderr?.on('data', (c: Buffer) => (controlErr = (controlErr + c.toString()).slice(-4000)));
    const replica = controls.length;
    readLines(child, (line) => {
      if (!line.includes('"config pushed"')) return;
      const e = JSON.parse(line) as { time: string; debounceMs: number; snapshotMs: number; pushMs: number };
      pushLog.push({ replica, at: Date.parse(e.time), debounceMs: e.debounceMs, snapshotMs: e.snapshotMs, pushMs: e.pushMs });
    });
    controls.push({ child, port });
    await waitForPort('127.0.0.1', port, 30_000, () => child.exitCode === null);
  };
  const sims: ChildProcess[] = [];
  const inputs: string[] = [];
  const clients: ControlClient[] = [];
  /** Each replica's pushes as it logged them: when each ended, how long reading the store and compiling took. */
  const pushLog: { replica: number; at: number; debounceMs: number; snapshotMs: number; pushMs: number }[] = [];
  /** Every config each simulated proxy applied (and ACKed), with the wall-clock time it did. */
  const proxyAcks = new Map<string, { version: string; at: number }[]>();
  /** Which simulated-proxy process runs each proxy, and which replica each process talks to. */
  const simOf = new Map<string, number>();
  const simReplica: { replica: number; proxies: number }[] = [];
  const result: ScaleResult = {
    services: o.services,
    workloads: o.workloads,
    proxies: o.proxies,
    sidecarScope: o.sidecarScope === true,
    configBytes: NaN,
    servicesPerProxy: NaN,
    applySeconds: NaN,
    connectSeconds: NaN,
    connectCpuSeconds: [],
    connected: 0,
    acked: 0,
    ackMs: undefined,
    proxyAcked: 0,
    proxyAckMs: undefined,
    changeApplyMs: NaN,
    changeCpuSeconds: [],
    changePushes: [],
    changeWindowUs: [NaN, NaN],
    changeCpuTimeline: [],
    changeCpuTotalsMs: {},
    simAcks: [],
    // ACK times come from the proxies; the API is polled only to confirm them, since each poll of 2,000 rows costs
    // the control plane CPU that a push to those proxies would otherwise have.
    pollIntervalMs: 1000,
    controlRssIdleMiB: NaN,
    controlRssPeakMiB: NaN,
    controlRssChangePeakMiB: NaN,
    replicas,
    replicaRssPeakMiB: [],
    controlMemory: [],
    failure: undefined,
    profile: [],
  };
  let peak: RssPeak | undefined;
  const pids = (): number[] => controls.map((c) => c.child.pid ?? 0);
  try {
    // The first replica alone makes the admin credential and the shared secrets; then the rest.
    await startControl();
    for (let r = 1; r < replicas; r++) await startControl();
    peak = new RssPeak(pids(), 200);
    for (const c of controls) {
      clients.push(
        new ControlClient({
          address: `127.0.0.1:${c.port}`,
          credential: fs.readFileSync(layout.adminCredentialFile, 'utf8').trim(),
          caPem: fs.readFileSync(layout.trustBundleFile, 'utf8'),
          timeoutMs: o.timeoutMs,
        }),
      );
    }
    const client = clients[0] as ControlClient;
    o.log(`scale: applying ${o.services} services and ${o.workloads} workloads`);
    const applyStart = performance.now();
    const resources = [...scaleResources(o.services, o.workloads, false), ...(o.sidecarScope === true ? scaleSidecars(o.services) : [])];
    for (let i = 0; i < resources.length; i += 500) await client.apply(resources.slice(i, i + 500));
    for (let w = 0; w < o.workloads; w++) {
      await client.setStatus({ kind: 'Workload', namespace: 'scale', name: `wl-${w}` }, { phase: 'Running', podIP: podIPOf(w), restarts: 0 });
    }
    result.applySeconds = (performance.now() - applyStart) / 1000;
    result.controlRssIdleMiB = Math.max(...pids().map(rssMiB));

    o.log(`scale: connecting ${o.proxies} simulated proxies to ${replicas} replica(s)`);
    const connectStart = performance.now();
    connectWall = Date.now();
    const connectCpu = pids().map(cpuSeconds);
    const specs = [];
    for (let i = 0; i < o.proxies; i++) {
      const w = i % o.workloads;
      const spec = { namespace: 'scale', name: `wl-${w}`, serviceAccount: `sa-${w % o.services}`, podIP: podIPOf(w) };
      specs.push({ ...spec, token: await client.issueToken({ namespace: spec.namespace, serviceAccount: spec.serviceAccount, workload: spec.name }) });
    }
    const places = controls.map((_, r) => r);
    const urls = controls.map((c) => `https://127.0.0.1:${c.port}`);
    // The replica each proxy's own order puts first: the one a proxy given every replica connects to.
    const home = specs.map((p) => replicaOrder(places, replicaKey(p.namespace, p.serviceAccount))[0]);
    for (const r of places) {
      const mine = specs.filter((_, i) => home[i] === r);
      // Each replica's proxies spread evenly over its processes: one process with 500 beside one with 167 made the
      // larger one's own work (reading and merging 500 deltas on one thread) the last ACKs' delay.
      const processes = Math.ceil(mine.length / o.perProcess);
      const share = Math.ceil(mine.length / processes);
      for (let i = 0; i < mine.length; i += share) {
        const input: SimulatedProxiesInput = {
          controlUrls: urls,
          caBundleFile: layout.trustBundleFile,
          trustDomain: 'cluster.local',
          controlNamespace: 'weft-system',
          proxies: mine.slice(i, i + share),
          concurrency: 16,
        };
        const file = path.join(layout.root, `simulated-${r}-${i}.json`);
        fs.writeFileSync(file, JSON.stringify(input), { mode: 0o600 });
        inputs.push(file);
        const sim = spawn(process.execPath, [...(o.simNodeArgs ?? []), path.join(REPO_ROOT, 'dist', 'bench', 'simulated-proxies-main.js'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
        for (const p of input.proxies) simOf.set(`${p.namespace}/${p.name}`, sims.length);
        simReplica.push({ replica: r, proxies: input.proxies.length });
        sims.push(sim);
        readLines(sim, (line) => {
          const [what, proxy, version, at] = line.split(' ');
          if (what !== 'ack' || proxy === undefined || version === undefined) return;
          let list = proxyAcks.get(proxy);
          if (!list) proxyAcks.set(proxy, (list = []));
          list.push({ version, at: Number(at) });
        });
      }
    }
    const firstPid = controls[0]?.child.pid;
    if (o.profileMs > 0 && firstPid !== undefined) {
      const profile = await profileWhile(firstPid, () => new Promise((r) => setTimeout(r, o.profileMs)), 1000).catch((err: unknown) => {
        o.log(`no control plane profile: ${(err as Error).message}`);
        return undefined;
      });
      if (profile) result.profile = topSelfTime(profile, 15);
    }
    // Each replica knows the proxies connected to it: the rows of all of them, a proxy's from where it is connected.
    const allRows = async (): Promise<ProxyRow[]> => {
      const byProxy = new Map<string, ProxyRow>();
      for (const rows of await Promise.all(clients.map(async (c) => (await c.proxies()) as ProxyRow[]))) {
        for (const p of rows) {
          const key = `${p.namespace}/${p.name}`;
          if (p.connected || !byProxy.has(key)) byProxy.set(key, p);
        }
      }
      return [...byProxy.values()];
    };
    const synced = (rows: ProxyRow[]): number => rows.filter((p) => p.connected && p.sentVersion !== null && p.sentVersion === p.ackedVersion).length;
    const deadline = Date.now() + o.timeoutMs;
    let rows = await allRows();
    while (synced(rows) < o.proxies && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      rows = await allRows();
    }
    result.connected = synced(rows);
    result.connectSeconds = (performance.now() - connectStart) / 1000;
    result.connectCpuSeconds = pids().map((pid, i) => cpuSeconds(pid) - (connectCpu[i] ?? 0));
    if (result.connected < o.proxies) {
      result.failure = `only ${result.connected} of ${o.proxies} proxies connected and in sync after ${o.timeoutMs / 1000} s; the change below is timed on those`;
    }
    const expected = result.connected;
    const sampleId = `sidecar/scale/wl-${Math.min(1, o.workloads - 1)}`;
    for (const c of clients) {
      const sample = await c.proxyConfig(sampleId).catch(() => undefined);
      if (sample?.config !== undefined) {
        result.configBytes = Buffer.byteLength(JSON.stringify(sample.config));
        result.servicesPerProxy = sample.config.outbound.services.length;
        break;
      }
    }

    o.log('scale: applying one changed Service and waiting for every ACK');
    const before = new Map(rows.map((p) => [`${p.namespace}/${p.name}`, p.ackedVersion]));
    const ackAt = new Map<string, number>();
    const changePeak = new RssPeak(pids(), 100);
    const groups: Record<string, number[]> = { sims: sims.map((c) => c.pid ?? 0), etcd: etcd?.pids ?? [] };
    for (const [r, c] of controls.entries()) groups[`replica-${r}`] = [c.child.pid ?? 0];
    const timeline = new CpuTimeline(groups, 250);
    const changeStartUs = Number(process.hrtime.bigint() / 1000n);
    const changeStart = performance.now();
    const changeWall = Date.now();
    changeWallAt = changeWall;
    const cpuBefore = pids().map(cpuSeconds);
    await client.apply(scaleResources(1, 0, true));
    result.changeApplyMs = performance.now() - changeStart;
    const ackDeadline = Date.now() + o.timeoutMs;
    while (ackAt.size < expected && Date.now() < ackDeadline) {
      rows = await allRows();
      const now = performance.now() - changeStart;
      for (const p of rows) {
        const key = `${p.namespace}/${p.name}`;
        if (!ackAt.has(key) && p.ackedVersion !== null && p.ackedVersion !== before.get(key) && p.ackedVersion === p.sentVersion) ackAt.set(key, now);
      }
      if (ackAt.size < expected) await new Promise((r) => setTimeout(r, result.pollIntervalMs));
    }
    result.controlRssChangePeakMiB = Math.max(...changePeak.stop().values());
    result.changeCpuTotalsMs = timeline.stop();
    result.changeCpuTimeline = timeline.rows;
    result.changeCpuSeconds = pids().map((pid, i) => cpuSeconds(pid) - (cpuBefore[i] ?? 0));
    result.changePushes = pushLog.filter((p) => p.at >= changeWall).map((p) => ({ replica: p.replica, endedMs: p.at - changeWall, debounceMs: p.debounceMs, snapshotMs: p.snapshotMs, pushMs: p.pushMs }));
    result.acked = ackAt.size;
    const sorted = [...ackAt.values()].sort((a, b) => a - b);
    if (sorted.length > 0) result.ackMs = { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
    // The same ACKs timed where they were sent: the first config each proxy applied after the apply call began
    // whose version differs from the one it ran before.
    const proxySide: number[] = [];
    const perSim = simReplica.map(() => [] as number[]);
    for (const [proxy, acks] of proxyAcks) {
      const first = firstAckAfter(acks, changeWall, before.get(proxy) ?? undefined);
      if (first) {
        proxySide.push(first.at - changeWall);
        perSim[simOf.get(proxy) ?? 0]?.push(first.at - changeWall);
      }
    }
    proxySide.sort((a, b) => a - b);
    const lastAck = proxySide[proxySide.length - 1] ?? 0;
    result.changeWindowUs = [changeStartUs, changeStartUs + Math.round(lastAck * 1000)];
    result.simAcks = simReplica.map((s, i) => {
      const times = (perSim[i] ?? []).sort((a, b) => a - b);
      return { ...s, acked: times.length, p50: Math.round(percentile(times, 50)), lastMs: Math.round(times[times.length - 1] ?? NaN) };
    });
    result.proxyAcked = proxySide.length;
    if (proxySide.length > 0) result.proxyAckMs = { p50: percentile(proxySide, 50), p99: percentile(proxySide, 99), max: proxySide[proxySide.length - 1] ?? NaN };
    if (result.acked < expected) {
      result.failure = `${result.failure === undefined ? '' : `${result.failure}; `}only ${result.acked} of ${expected} proxies acknowledged the change within ${o.timeoutMs / 1000} s`;
    }
    if ((o.changes ?? 1) > 1 && result.failure === undefined) {
      result.laterChanges = await laterChanges({
        count: (o.changes ?? 1) - 1,
        proxyAcks,
        expected,
        apply: async (extraPort) => {
          await client.apply(scaleResources(1, 0, extraPort));
        },
        cpuGroups: groups,
        replicaPids: pids(),
        timeoutMs: o.timeoutMs,
        log: o.log,
      });
    }
    return result;
  } catch (err) {
    result.failure = `${(err as Error).message}${controlErr === '' ? '' : `; control plane said: ${controlErr.trim().split('\n').slice(-3).join(' | ')}`}`;
    return result;
  } finally {
    if (peak) {
      const peaks = peak.stop();
      result.replicaRssPeakMiB = pids().map((pid) => peaks.get(pid) ?? NaN);
      result.controlRssPeakMiB = Math.max(...result.replicaRssPeakMiB);
    }
    for (const [replica, f] of memoryFiles.entries()) {
      for (const [phase, sample] of memoryPhases(f, connectWall, changeWallAt)) result.controlMemory.push({ replica, phase, sample });
    }
    await Promise.all(sims.map(stopChild));
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(controls.map((c) => stopChild(c.child)));
    await etcd?.stop();
    for (const f of inputs) fs.rmSync(f, { force: true });
  }
}
