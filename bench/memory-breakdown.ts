/** Reads a control plane's memory samples (memory-sampler.ts) back as MiB at the phases of a scale run. */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './weft-mesh.js';
import type { MemorySample } from './memory-sampler.js';

/** The `--import` argument that loads the sampler into a control plane. */
export const MEMORY_SAMPLER = pathToFileURL(path.join(REPO_ROOT, 'dist', 'bench', 'memory-sampler.js')).href;

/**
 * RSS split, MiB: V8's heap (committed and in use), external memory V8 is told of (ArrayBuffers among it), and the
 * remainder (RSS less heapTotal and external: the allocator's native memory, code, stacks, the binary's pages);
 * anon and file from /proc/self/status.
 */
export interface MemoryBreakdown {
  at: string;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  remainder: number;
  anon: number;
  file: number;
  /** glibc's main-arena (brk) heap, resident. */
  brk: number;
}

const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;

export function breakdownOf(s: MemorySample): MemoryBreakdown {
  return {
    at: new Date(s.at).toISOString(),
    rss: mib(s.rss),
    heapTotal: mib(s.heapTotal),
    heapUsed: mib(s.heapUsed),
    external: mib(s.external),
    arrayBuffers: mib(s.arrayBuffers),
    remainder: mib(s.rss - s.heapTotal - s.external),
    anon: mib(s.anon),
    file: mib(s.file),
    brk: mib(s.brk),
  };
}

/** Samples at the phases of a run: last before `connectAt`, the RSS peak, last before `changeAt`, the last. */
export function memoryPhases(file: string, connectAt: number, changeAt: number): ['idle' | 'peak' | 'connected' | 'end', MemoryBreakdown][] {
  let samples: MemorySample[];
  try {
    samples = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as MemorySample);
  } catch {
    return [];
  }
  const out: ['idle' | 'peak' | 'connected' | 'end', MemoryBreakdown][] = [];
  const lastBefore = (t: number): MemorySample | undefined => samples.filter((s) => s.at < t).pop();
  const idle = lastBefore(connectAt);
  if (idle) out.push(['idle', breakdownOf(idle)]);
  const peak = samples.reduce<MemorySample | undefined>((p, s) => (p === undefined || s.rss > p.rss ? s : p), undefined);
  if (peak) out.push(['peak', breakdownOf(peak)]);
  const connected = lastBefore(changeAt);
  if (connected) out.push(['connected', breakdownOf(connected)]);
  const end = samples[samples.length - 1];
  if (end) out.push(['end', breakdownOf(end)]);
  return out;
}
