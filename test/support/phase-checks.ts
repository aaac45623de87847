/** Test support: judge and report the phases of a `phasedLoad` (bench/phased-load.ts). */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { PhaseFigures } from '../../bench/phased-load.js';

export function phaseNamed(all: PhaseFigures[], name: string): PhaseFigures {
  const p = all.find((x) => x.name === name);
  assert.ok(p, `no phase ${name}`);
  return p;
}

/** Every request of the phase answered 200, and there were at least `atLeast` of them to mean something. */
export function assertLostNone(p: PhaseFigures, atLeast: number): void {
  assert.deepEqual({ phase: p.name, outcomes: p.outcomes, reasons: p.reasons }, { phase: p.name, outcomes: { '200': p.sent }, reasons: {} });
  assert.ok(p.sent >= atLeast, `${p.name}: only ${p.sent} requests, too few to prove anything`);
}

/** One diagnostic line a phase: what was sent, what failed and why, over how long, and latency. */
export function reportPhases(t: TestContext, phases: PhaseFigures[]): void {
  for (const p of phases) {
    const window = p.failedBetweenMs ? `, failures within ${Math.round(p.failedBetweenMs.last - p.failedBetweenMs.first)} ms` : '';
    t.diagnostic(
      `${p.name} (${Math.round(p.endMs - p.startMs)} ms): sent ${p.sent}, failed ${p.failed}${window} ${JSON.stringify(p.reasons)}, ` +
        `latency P50/P99/max ${p.latencyMs.p50.toFixed(1)}/${p.latencyMs.p99.toFixed(1)}/${p.latencyMs.max.toFixed(1)} ms`,
    );
  }
}
