/**
 * Loaded into a control plane with `--import` for a scale run: every WEFT_MEMORY_SAMPLE_MS (default 500) ms it
 * appends one JSON line to the file WEFT_MEMORY_SAMPLES names, with the process's resident memory split into what
 * V8 reports (heap total and used, external, of which ArrayBuffers) and what the kernel reports
 * (/proc/self/smaps_rollup: anonymous and file-backed resident pages), so that the native remainder can be told
 * apart from the JS heap. Does nothing when the variable is unset.
 */
import fs from 'node:fs';

export interface MemorySample {
  /** Epoch ms. */
  at: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Resident anonymous and file-backed bytes from smaps_rollup (NaN where it cannot be read). */
  anon: number;
  file: number;
  /** Resident bytes of the brk heap (glibc's main arena), from smaps. */
  brk: number;
}

const KB = /^(\w+):\s+(\d+) kB$/gm;

export function smapsRollup(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(KB)) out.set(m[1] as string, Number(m[2]) * 1024);
  return out;
}

/** Resident bytes of the [heap] mapping in /proc/self/smaps. */
export function brkResident(text: string): number {
  const at = text.indexOf(' [heap]\n');
  if (at < 0) return 0;
  const m = /\nRss:\s+(\d+) kB/.exec(text.slice(at, at + 400));
  return m ? Number(m[1]) * 1024 : NaN;
}

export function takeSample(): MemorySample {
  const m = process.memoryUsage();
  let rollup = new Map<string, number>();
  let brk = NaN;
  try {
    rollup = smapsRollup(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'));
    brk = brkResident(fs.readFileSync('/proc/self/smaps', 'utf8'));
  } catch {
    // not Linux, or no smaps_rollup: the V8 figures stand alone
  }
  return {
    at: Date.now(),
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    anon: rollup.get('Anonymous') ?? NaN,
    file: (rollup.get('Rss') ?? NaN) - (rollup.get('Anonymous') ?? NaN),
    brk,
  };
}

const file = process.env['WEFT_MEMORY_SAMPLES'];
if (file !== undefined && file !== '') {
  const every = Number(process.env['WEFT_MEMORY_SAMPLE_MS'] ?? 500);
  const timer = setInterval(() => fs.appendFileSync(file, `${JSON.stringify(takeSample())}\n`), every > 0 ? every : 500);
  timer.unref();
}
