/**
 * Open-loop load at a fixed rate: request i is due at start + i/rate whether or not earlier ones have answered,
 * and its latency is counted from that due time, not from when it was actually sent. A stalled response therefore
 * shows up in the latency of every request queued behind it (no coordinated omission). undici's Pool queues
 * requests when every connection is busy; that wait is inside the figure too.
 */
import { Pool } from 'undici';

export interface OpenLoopOptions {
  origin: string;
  host?: string;
  path?: string;
  rate: number;
  seconds: number;
  /** Requests due in this first part are sent but not counted (connections, JIT). */
  warmupSeconds: number;
  connections: number;
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  counted: number;
  errors: number;
  /** Achieved rate of completions over the measured window. */
  achievedRps: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(o.origin, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const total = Math.round(o.rate * (o.seconds + o.warmupSeconds));
  const warm = Math.round(o.rate * o.warmupSeconds);
  const latencies = new Float64Array(total - warm);
  const headers = o.host ? { host: o.host } : {};
  const intervalMs = 1000 / o.rate;
  let errors = 0;
  let counted = 0;
  let firstCountedAt = 0;
  let lastDoneAt = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();

  const send = (i: number): Promise<void> => {
    const due = start + i * intervalMs;
    return pool
      .request({ method: 'GET', path: o.path ?? '/', headers })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
      })
      .catch(() => {
        errors++;
      })
      .then(() => {
        const done = performance.now();
        if (i >= warm) {
          latencies[i - warm] = done - due;
          counted++;
          lastDoneAt = Math.max(lastDoneAt, done);
        }
      });
  };

  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      // Everything due by now goes out now: a late timer adds its lateness to these requests' latency.
      while (next < total && start + next * intervalMs <= now) {
        if (next === warm) firstCountedAt = start + next * intervalMs;
        const p = send(next);
        if (next >= warm) inflight.push(p);
        next++;
      }
      if (next >= total) {
        resolve();
        return;
      }
      const wait = start + next * intervalMs - performance.now();
      setTimeout(tick, Math.max(0, wait));
    };
    tick();
  });
  await Promise.all(inflight);
  await pool.close();
  const sorted = latencies.slice(0, counted).sort();
  return {
    rate: o.rate,
    sent: total,
    counted,
    errors,
    achievedRps: counted / ((lastDoneAt - firstCountedAt) / 1000),
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted[sorted.length - 1] ?? NaN,
    },
  };
}
