/**
 * What the kernel accounts for a process: CPU seconds (utime + stime from /proc/<pid>/stat, in clock ticks) and
 * resident memory (VmRSS from /proc/<pid>/status). Children are not included: each proxy is measured alone.
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of `pid` in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}

/** Resident set size of `pid` in MiB. */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Direct children of `pid` (all threads' children), e.g. the nginx a wrapper script started. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (text !== '') out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

/** Samples the peak RSS of some processes until stopped. */
export class RssPeak {
  readonly peaks = new Map<number, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(pids: number[], everyMs = 250) {
    const sample = (): void => {
      for (const pid of pids) {
        try {
          this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, rssMiB(pid)));
        } catch {
          // the process went away; its last sample stands
        }
      }
    };
    sample();
    // Unref'd: a run that fails before stop() must still let the bench exit.
    this.#timer = setInterval(sample, everyMs).unref();
  }

  stop(): Map<number, number> {
    clearInterval(this.#timer);
    return this.peaks;
  }
}

/** Pins every thread of `pid` to `cpu` when the machine has more than one core; false when it could not. */
export function pinToCpu(pid: number, cpu: number): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
