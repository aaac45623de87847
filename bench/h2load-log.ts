/**
 * Latency percentiles from h2load's `--log-file` (h2load itself prints only min/max/mean/sd): one line per request,
 * tab-separated start time (µs since the epoch), HTTP status and µs until the end of the response. A request's
 * latency counts from when h2load sent it; with `--rps` a request waits for a free stream before it is sent, so past
 * saturation the figures understate the wait (closed-loop latency, not open-loop).
 */
import fs from 'node:fs';
import readline from 'node:readline';

export interface LogLatency {
  p50: number;
  p90: number;
  p99: number;
}

/** Nearest-rank percentile of sorted values. */
function rank(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

export function percentiles(latenciesUs: Float64Array): LogLatency {
  const sorted = latenciesUs.slice().sort();
  return { p50: rank(sorted, 0.5) / 1000, p90: rank(sorted, 0.9) / 1000, p99: rank(sorted, 0.99) / 1000 };
}

export function parseLogLine(line: string): { startUs: number; status: number; latencyUs: number } | undefined {
  const [start, status, latency] = line.split('\t');
  const out = { startUs: Number(start), status: Number(status), latencyUs: Number(latency) };
  return Number.isFinite(out.startUs) && Number.isFinite(out.latencyUs) && latency !== undefined ? out : undefined;
}

/** Percentiles in ms over every request the log holds. */
export async function latencyFromLog(file: string): Promise<LogLatency | undefined> {
  let values = new Float64Array(1 << 16);
  let n = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const entry = parseLogLine(line);
    if (!entry) continue;
    if (n === values.length) {
      const grown = new Float64Array(values.length * 2);
      grown.set(values);
      values = grown;
    }
    values[n++] = entry.latencyUs;
  }
  return n === 0 ? undefined : percentiles(values.subarray(0, n));
}
