/**
 * CPU of groups of processes over time (utime + stime from /proc, sampled): where a machine's CPU went while a
 * change travelled from the control plane to the proxies, e.g. replicas against simulated proxies against etcd.
 */
import { cpuSeconds } from './proc-stats.js';

export interface CpuTimelineRow {
  /** ms since the timeline started, end of the bin. */
  atMs: number;
  /** CPU ms each group used during the bin. */
  cpuMs: Record<string, number>;
}

export class CpuTimeline {
  readonly rows: CpuTimelineRow[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #start = performance.now();
  #last: Map<number, number>;

  constructor(
    private readonly groups: Record<string, number[]>,
    everyMs = 100,
  ) {
    this.#last = this.#read();
    // Unref'd: a run that fails before stop() must still let the bench exit.
    this.#timer = setInterval(() => this.#sample(), everyMs).unref();
  }

  /** Stops sampling; the totals per group. */
  stop(): Record<string, number> {
    clearInterval(this.#timer);
    this.#sample();
    const totals: Record<string, number> = {};
    for (const r of this.rows) for (const [g, ms] of Object.entries(r.cpuMs)) totals[g] = (totals[g] ?? 0) + ms;
    return totals;
  }

  #read(): Map<number, number> {
    const now = new Map<number, number>();
    for (const pids of Object.values(this.groups)) {
      for (const pid of pids) {
        try {
          now.set(pid, cpuSeconds(pid) * 1000);
        } catch {
          // gone; it uses nothing more
        }
      }
    }
    return now;
  }

  #sample(): void {
    const now = this.#read();
    const cpuMs: Record<string, number> = {};
    for (const [group, pids] of Object.entries(this.groups)) {
      cpuMs[group] = pids.reduce((sum, pid) => sum + Math.max(0, (now.get(pid) ?? 0) - (this.#last.get(pid) ?? now.get(pid) ?? 0)), 0);
    }
    this.#last = now;
    this.rows.push({ atMs: Math.round(performance.now() - this.#start), cpuMs });
  }
}
