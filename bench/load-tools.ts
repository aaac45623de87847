/**
 * Closed-loop maximum-throughput load: wrk for HTTP/1.1 keep-alive, h2load for HTTP/2 (h2c, prior knowledge).
 * Both run pinned to the load generator's core when the machine has one to spare.
 */
import { spawn } from 'node:child_process';
import { latencyFromLog } from './h2load-log.js';

export interface ThroughputRun {
  tool: 'wrk' | 'h2load';
  command: string;
  rps: number;
  requests: number;
  /** Responses that were not 2xx, plus socket errors and timeouts. */
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number } | undefined;
  raw: string;
}

export interface LoadTarget {
  url: string;
  /** Host header to send (the service authority for a sidecar's outbound listener). */
  host?: string;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${String(code)}:\n${out}`));
    });
  });
}

/** A command line as a shell would take it back: arguments with spaces quoted. */
export function commandLine(cmd: string, args: string[]): string {
  return [cmd, ...args].map((a) => (/[\s"'$]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}

function withPin(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

export function parseWrk(out: string): Omit<ThroughputRun, 'tool' | 'command' | 'raw'> {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const pct = (p: string): number | undefined => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    return m ? toMs(m[1] ?? '', m[2] ?? 'ms') : undefined;
  };
  const p50 = pct('50');
  const p90 = pct('90');
  const p99 = pct('99');
  const latencyMs = p50 !== undefined && p90 !== undefined && p99 !== undefined ? { p50, p90, p99 } : undefined;
  return { rps, requests, errors: non2xx + sockErrors, latencyMs };
}

export async function wrk(target: LoadTarget, o: { seconds: number; connections: number; cpu?: number }): Promise<ThroughputRun> {
  const args = ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency'];
  if (target.host) args.push('-H', `Host: ${target.host}`);
  args.push(target.url);
  const [cmd, full] = withPin(o.cpu, 'wrk', args);
  const raw = await run(cmd, full, (o.seconds + 30) * 1000);
  return { tool: 'wrk', command: commandLine(cmd, full), raw, ...parseWrk(raw) };
}

export function parseH2load(out: string): Omit<ThroughputRun, 'tool' | 'command' | 'raw'> {
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const done = Number(req?.[3] ?? NaN);
  const failed = Number(req?.[5] ?? 0) + Number(req?.[6] ?? 0) + Number(req?.[7] ?? 0);
  const bad = status ? Number(status[3]) + Number(status[4]) : 0;
  return { rps, requests: done, errors: failed + bad, latencyMs: undefined };
}

export interface H2loadOptions {
  /** Run for this long (h2load -D); or, without it, until `requests` are done (-n). */
  seconds?: number;
  requests?: number;
  /** h2load's own warm-up before a timed run (default 1 s; 0 for none, when the caller warmed up already). */
  warmUpSeconds?: number;
  connections: number;
  streams: number;
  cpu?: number;
  /** Request body file: h2load then POSTs it (a gRPC call's length-prefixed message). */
  data?: string;
  /** Extra request headers, `name: value`. */
  headers?: string[];
  /** Requests per second per client (h2load `--rps`); without it each client sends as fast as its streams allow. */
  rpsPerClient?: number;
  /** Per-request log (h2load `--log-file`), read for latency percentiles. */
  logFile?: string;
}

export async function h2load(target: LoadTarget, o: H2loadOptions): Promise<ThroughputRun> {
  const args = ['-t1', `-c${o.connections}`, `-m${o.streams}`];
  // -D runs for a duration; a short warm-up keeps connection set-up out of the rate.
  const warmUp = o.warmUpSeconds ?? 1;
  if (o.seconds !== undefined) args.push('-D', String(o.seconds), ...(warmUp > 0 ? [`--warm-up-time=${warmUp}`] : []));
  else args.push('-n', String(o.requests ?? 1000));
  // HTTP/2 names the target in :authority; h2load sends a `host` header as an ordinary header beside it.
  if (target.host) args.push('-H', `:authority: ${target.host}`);
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.data !== undefined) args.push('-d', o.data);
  if (o.rpsPerClient !== undefined) args.push(`--rps=${o.rpsPerClient}`);
  if (o.logFile !== undefined) args.push(`--log-file=${o.logFile}`);
  args.push(target.url);
  const [cmd, full] = withPin(o.cpu, 'h2load', args);
  const raw = await run(cmd, full, ((o.seconds ?? 60) + warmUp + 30) * 1000);
  const parsed = parseH2load(raw);
  if (o.logFile !== undefined) parsed.latencyMs = await latencyFromLog(o.logFile);
  return { tool: 'h2load', command: commandLine(cmd, full), raw, ...parsed };
}
