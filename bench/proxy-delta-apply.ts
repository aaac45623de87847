/**
 * What a sidecar spends applying one pushed delta: the scale mesh (1,000 Services, 2,000 Workloads, every service
 * visible to every sidecar: a config of about 930 KB), compiled by the control plane's own compile, then the delta
 * the control plane writes when one Service gains a port (push-delta.ts), read off its line and applied through the
 * proxy's ConfigReceiver and the steps `weft proxy` takes on a config (main.ts: accept, then swapConfig: endpoint
 * registry, DNS table, pool retention). Each step is the next Service gaining a port, all on one receiver in order.
 * Wall time from the delta handed to the receiver to its ACK, and the process's CPU time over the same span; median
 * of the runs. `--profile FILE` also takes a V8 CPU profile (the sampler behind `node --cpu-prof`) over the measured
 * deltas only, and prints its top functions by self time.
 *
 *   node dist/bench/proxy-delta-apply.js [--runs N] [--profile FILE]
 */
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { meshConfigWithDefaults } from '../src/config/kinds/mesh-config.js';
import type { Resource } from '../src/config/resource.js';
import { buildSnapshot } from '../src/control/compile/snapshot.js';
import { compileProxyConfigParts } from '../src/control/compile/index.js';
import type { CompiledProxyConfig as ControlCompiled } from '../src/control/compile/index.js';
import { configDeltaParts } from '../src/control/push-delta.js';
import { systemClock } from '../src/clock.js';
import { ConfigReceiver } from '../src/proxy/control/config-receiver.js';
import { acceptProxyConfig } from '../src/proxy/config/compiled-config.js';
import { EndpointRegistry } from '../src/proxy/balance/endpoint-registry.js';
import { EndpointPools } from '../src/proxy/upstream/endpoint-pools.js';
import { H2SessionPools } from '../src/proxy/http2/h2-session-pool.js';
import type { ProxyRuntime } from '../src/proxy/proxy-runtime.js';
import { swapConfig } from '../src/proxy/swap-config.js';
import type { ServedNames } from '../src/proxy/swap-config.js';
import type { ProxyMessage } from '../src/push/protocol.js';
import { podIPOf, scaleResources } from './scale-resources.js';
import { topSelfTime } from './cpu-profile.js';
import type { CpuProfile } from './cpu-profile.js';

const SERVICES = 1000;
const WORKLOADS = 2000;
const BOOT = { ...meshConfigWithDefaults({ trustDomain: 'cluster.local' }), rootNamespace: 'weft-system' };

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/**
 * The scale mesh with every workload running at its pod IP (as the scale scenario reports them), and the first
 * `widened` services with a second port: step k of the run is svc-k gaining its port.
 */
function mesh(widened: number): Resource[] {
  return scaleResources(SERVICES, WORKLOADS, false).map((r, i) => {
    // The store fills metadata defaults on apply; resources built here start without them.
    const stored = { ...r, metadata: { ...r.metadata, annotations: r.metadata.annotations ?? {}, labels: r.metadata.labels ?? {} } } as Resource;
    if (r.kind === 'Workload') return { ...stored, status: { phase: 'Running', podIP: podIPOf(i - SERVICES) } } as Resource;
    if (i >= widened) return stored;
    const spec = r.spec as { ports: unknown[] };
    return { ...stored, spec: { ...spec, ports: [...spec.ports, { name: 'http-alt', port: 9090, targetPort: 8080 }] } } as Resource;
  });
}

function sidecarOf(resources: Resource[], revision: number): ControlCompiled {
  return compileProxyConfigParts(buildSnapshot(resources, revision, BOOT), { role: 'sidecar', namespace: 'scale', name: 'wl-1', serviceAccount: 'sa-1' });
}

function lineOf(parts: ReturnType<typeof configDeltaParts>): string {
  return parts.map((p) => (typeof p === 'string' ? p : p.json)).join('');
}

/** A receiver wired to what `weft proxy` does with a config, resolving each ACK or NACK as it is sent. */
function proxyUnderTest(): { receiver: ConfigReceiver; answered: () => Promise<ProxyMessage> } {
  const rt: Pick<ProxyRuntime, 'config' | 'endpoints' | 'pools' | 'h2Pools'> = { config: undefined, endpoints: new EndpointRegistry(systemClock), pools: new EndpointPools(undefined), h2Pools: new H2SessionPools(undefined) };
  const names: ServedNames = { table: undefined };
  let waiter: ((m: ProxyMessage) => void) | undefined;
  const receiver = new ConfigReceiver({
    onConfig: (input) => {
      const next = acceptProxyConfig(input);
      if (rt.config?.version === next.version) return Promise.resolve(next.version);
      swapConfig(rt, next, names);
      return Promise.resolve(next.version);
    },
    send: (m) => waiter?.(m),
    log: { info: () => undefined, warn: (m, f) => console.error(m, f) },
  });
  return { receiver, answered: () => new Promise((resolve) => (waiter = resolve)) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const runs = Number(arg('--runs') ?? 30);
  const profileFile = arg('--profile');
  const warmup = 3;
  // One config per step, compiled by the control plane; the deltas between them as it writes them.
  const configs = Array.from({ length: warmup + runs + 1 }, (_, k) => sidecarOf(mesh(k), k + 1));
  const fullLine = configs[0]!.jsonParts.map((p) => (typeof p === 'string' ? p : p.json)).join('');
  const deltaLines = configs.slice(1).map((c, k) => lineOf(configDeltaParts(configs[k]!, c)));
  console.log(`config ${(fullLine.length / 1024).toFixed(0)} KiB, ${configs[0]!.config.outbound.services.length} services; delta ${deltaLines[0]!.length} bytes`);

  const { receiver, answered } = proxyUnderTest();
  let answer = answered();
  receiver.full(JSON.parse(fullLine) as unknown);
  if ((await answer).type !== 'ack') throw new Error('the whole config was refused');

  const session = profileFile === undefined ? undefined : new Session();
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
  }
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  for (const [i, line] of deltaLines.entries()) {
    // The first deltas warm the JIT up; they are not counted.
    if (session && i === warmup) await session.post('Profiler.start');
    const msg: unknown = JSON.parse(line);
    answer = answered();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    receiver.delta(msg);
    const reply = await answer;
    const t1 = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    if (reply.type !== 'ack') throw new Error(`delta ${i} was refused: ${JSON.stringify(reply)}`);
    if (i < warmup) continue;
    wallMs.push(Number(t1 - t0) / 1e6);
    cpuMs.push((cpu.user + cpu.system) / 1000);
  }
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    fs.writeFileSync(profileFile!, JSON.stringify(profile));
    console.log('top self time over the measured deltas:');
    for (const r of topSelfTime(profile as unknown as CpuProfile, 15)) console.log(`  ${r.percent.toFixed(1).padStart(5)}%  ${r.selfMs.toFixed(1).padStart(8)} ms  ${r.function}  ${r.where}`);
  }
  const fmt = (xs: number[]): string => `median ${median(xs).toFixed(2)} ms (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
  console.log(`delta applied, ${runs} runs: wall ${fmt(wallMs)}; CPU ${fmt(cpuMs)}`);
}

await main();
