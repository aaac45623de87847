/**
 * A closed loop of requests split into named phases, for measuring what a fault costs: `workers` clients send
 * back to back, and each request counts in the phase during which it was sent, by outcome (the HTTP status, or
 * the error's code when no response came) and latency. A phase ends when the next begins, and `phase()` resolves
 * once the earlier phases' requests have all ended, so a fault done then touches only the new phase's requests.
 * The figures are final once `stop()` has let every request in flight finish.
 */
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './open-loop.js';

/** One request's end: a status and body, or a thrown error. */
export type SendRequest = () => Promise<{ status: number; body: string }>;

export interface PhaseFigures {
  name: string;
  /** Milliseconds from the start of the load to this phase's start and end. */
  startMs: number;
  endMs: number;
  sent: number;
  succeeded: number;
  failed: number;
  /** Requests by how they ended: "200", "503", "ECONNRESET", ... */
  outcomes: Record<string, number>;
  /** Failures by `outcome: first line of the body or the error message`, so a report can say why. */
  reasons: Record<string, number>;
  /** Milliseconds from the start of the load to the first and the last failed request's start; null if none. */
  failedBetweenMs: { first: number; last: number } | null;
  /** Milliseconds from sending to the end of the body, over every request of the phase, failed ones included. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

interface PhaseTally {
  name: string;
  startMs: number;
  endMs: number | undefined;
  sent: number;
  succeeded: number;
  outcomes: Map<string, number>;
  reasons: Map<string, number>;
  firstFailedMs: number | undefined;
  lastFailedMs: number | undefined;
  latencies: number[];
}

/** How often `untilSent` looks at the count. */
const UNTIL_SENT_POLL_MS = 50;

/** Distinct failure reasons kept per phase; the rest are counted under one "other" entry. */
const REASONS_KEPT = 8;

export interface PhasedLoad {
  /** End the current phase and start `name` (requests sent from now on count in it); resolves when none sent before is in flight. */
  phase(name: string): Promise<void>;
  /**
   * Resolves once the current phase has sent `count` requests, or after `timeoutMs` whatever it sent: a phase that
   * must show enough requests waits for them, not for a time a busy machine may send too few in.
   */
  untilSent(count: number, timeoutMs: number): Promise<void>;
  /** Stop sending, wait for what is in flight, and return every phase in order. */
  stop(): Promise<PhaseFigures[]>;
}

export function phasedLoad(send: SendRequest, firstPhase: string, workers = 4): PhasedLoad {
  const started = performance.now();
  const now = (): number => performance.now() - started;
  const tallies: PhaseTally[] = [];
  let current = newTally(firstPhase, 0);
  tallies.push(current);
  let running = true;
  /** Requests in flight, each with the tally it counts in. */
  const inFlight = new Map<Promise<void>, PhaseTally>();

  const once = async (): Promise<void> => {
    const tally = current;
    tally.sent++;
    const sentAt = performance.now();
    const sentMs = sentAt - started;
    let outcome: string;
    let detail = '';
    try {
      const r = await send();
      outcome = String(r.status);
      detail = r.body.split('\n', 1)[0]!.slice(0, 120);
    } catch (err) {
      outcome = errorCode(err);
      detail = err instanceof Error ? err.message : String(err);
    }
    tally.latencies.push(performance.now() - sentAt);
    tally.outcomes.set(outcome, (tally.outcomes.get(outcome) ?? 0) + 1);
    if (outcome === '200') {
      tally.succeeded++;
      return;
    }
    tally.firstFailedMs ??= sentMs;
    tally.lastFailedMs = Math.max(tally.lastFailedMs ?? 0, sentMs);
    const reason = `${outcome}: ${detail}`;
    const key = tally.reasons.has(reason) || tally.reasons.size < REASONS_KEPT ? reason : 'other';
    tally.reasons.set(key, (tally.reasons.get(key) ?? 0) + 1);
  };

  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const request = once();
      inFlight.set(request, current);
      await request;
      inFlight.delete(request);
      // A request refused without touching a socket settles in a microtask: without this turn of the event loop
      // such a loop would starve every timer and I/O callback, including the one that stops it.
      await setImmediate();
    }
  });

  return {
    async phase(name) {
      const at = now();
      current.endMs = at;
      current = newTally(name, at);
      tallies.push(current);
      const next = current;
      await Promise.all([...inFlight].filter(([, t]) => t !== next).map(([p]) => p));
    },
    async untilSent(count, timeoutMs) {
      const phase = current;
      const deadline = performance.now() + timeoutMs;
      while (running && phase.sent < count && performance.now() < deadline) await sleep(UNTIL_SENT_POLL_MS);
    },
    async stop() {
      running = false;
      current.endMs = now();
      await Promise.all(loops);
      return tallies.map(figuresOf);
    },
  };
}

function newTally(name: string, startMs: number): PhaseTally {
  return { name, startMs, endMs: undefined, sent: 0, succeeded: 0, outcomes: new Map(), reasons: new Map(), firstFailedMs: undefined, lastFailedMs: undefined, latencies: [] };
}

function figuresOf(t: PhaseTally): PhaseFigures {
  const sorted = [...t.latencies].sort((a, b) => a - b);
  return {
    name: t.name,
    startMs: t.startMs,
    endMs: t.endMs ?? t.startMs,
    sent: t.sent,
    succeeded: t.succeeded,
    failed: t.sent - t.succeeded,
    outcomes: Object.fromEntries([...t.outcomes].sort(([a], [b]) => a.localeCompare(b))),
    reasons: Object.fromEntries([...t.reasons].sort(([, a], [, b]) => b - a)),
    failedBetweenMs: t.firstFailedMs === undefined ? null : { first: t.firstFailedMs, last: t.lastFailedMs ?? t.firstFailedMs },
    latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN },
  };
}

/** A node or undici error's code (ECONNRESET, UND_ERR_SOCKET, ...), else its name. */
function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const { code, name } = err as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (typeof name === 'string') return name;
  }
  return 'error';
}
