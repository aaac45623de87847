/**
 * The changes after the first one in a scale run (`--changes N`): the same Service's extra port taken away and
 * added back, each timed from its apply to the last proxy's ACK as the proxies report it. The first change after the
 * proxies connect also pays for V8 compiling the code only a change runs (the delta, the changed sections, the audit
 * of a push), which was a third of the replicas' CPU in that window on a 2-core machine; a control plane that has
 * applied changes before runs that code compiled. Both are reported, the first as the run's main figure.
 */
import { percentile } from './open-loop.js';
import { CpuTimeline } from './cpu-timeline.js';
import { RssPeak } from './proc-stats.js';

export interface LaterChange {
  /** Whether svc-0 has its extra port after this change. */
  extraPort: boolean;
  proxyAcked: number;
  proxyAckMs: { p50: number; p99: number; max: number } | undefined;
  changeCpuTotalsMs: Record<string, number>;
  /** Peak RSS of each replica from the quiet time before the change to its last ACK, MiB. */
  replicaRssPeakMiB: number[];
  /** As ScaleResult's: the change's window on the monotonic clock, µs. */
  changeWindowUs: [number, number];
}

export interface LaterChangeDeps {
  count: number;
  /** Proxy → the versions it ACKed, as the simulated proxies report them (epoch ms). */
  proxyAcks: ReadonlyMap<string, readonly { version: string; at: number }[]>;
  /** How many proxies must ACK. */
  expected: number;
  apply: (extraPort: boolean) => Promise<void>;
  cpuGroups: Record<string, number[]>;
  /** The replicas' pids, in replica order. */
  replicaPids: number[];
  timeoutMs: number;
  log: (line: string) => void;
}

const QUIET_MS = 2000;

/** A proxy's ACK of a change: the first config it applied at or after `wall` whose version is not the one it ran before. */
export function firstAckAfter(acks: readonly { version: string; at: number }[], wall: number, before: string | undefined): { version: string; at: number } | undefined {
  return acks.find((a) => a.at >= wall && a.version !== before);
}
const POLL_MS = 50;

export async function laterChanges(d: LaterChangeDeps): Promise<LaterChange[]> {
  const out: LaterChange[] = [];
  for (let i = 0; i < d.count; i++) {
    // The first change added the port: the next takes it away, and so on.
    const extraPort = i % 2 === 1;
    const rss = new RssPeak(d.replicaPids, 100);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const before = new Map([...d.proxyAcks].map(([proxy, acks]) => [proxy, acks.at(-1)?.version]));
    d.log(`scale: change ${i + 2}: svc-0 ${extraPort ? 'gains' : 'loses'} its extra port`);
    const timeline = new CpuTimeline(d.cpuGroups, 250);
    const startUs = Number(process.hrtime.bigint() / 1000n);
    const wall = Date.now();
    await d.apply(extraPort);
    const acked = (): number[] => {
      const times: number[] = [];
      for (const [proxy, acks] of d.proxyAcks) {
        const first = firstAckAfter(acks, wall, before.get(proxy));
        if (first) times.push(first.at - wall);
      }
      return times;
    };
    const deadline = Date.now() + d.timeoutMs;
    let times = acked();
    while (times.length < d.expected && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      times = acked();
    }
    const changeCpuTotalsMs = timeline.stop();
    const peaks = rss.stop();
    times.sort((a, b) => a - b);
    const last = times[times.length - 1];
    out.push({
      extraPort,
      proxyAcked: times.length,
      proxyAckMs: last === undefined ? undefined : { p50: percentile(times, 50), p99: percentile(times, 99), max: last },
      changeCpuTotalsMs,
      replicaRssPeakMiB: d.replicaPids.map((pid) => peaks.get(pid) ?? NaN),
      changeWindowUs: [startUs, startUs + Math.round((last ?? 0) * 1000)],
    });
  }
  return out;
}
