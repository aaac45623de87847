/**
 * Loaded into a control plane with `--import` for a scale run: every WEFT_MEMORY_SAMPLE_MS (default 500) ms it
 * appends one JSON line to the file WEFT_MEMORY_SAMPLES names, with the process's resident memory split into what
 * V8 reports (heap total and used, external, of which ArrayBuffers) and what the kernel reports
 * (/proc/self/status: anonymous and file-backed resident pages), so that the native remainder can be told apart
 * from the JS heap. Does nothing when the variable is unset.
 *
 * The kernel keeps the status counters as it goes; smaps_rollup and smaps walk every page table to answer, 10-20 ms
 * each for a control plane of 300 MiB. Read at every sample, they cost a replica 0.1-0.16 CPU s a second and held its
 * event loop that long, in the very window the bench times. So anonymous and file pages come from status (the same
 * figures), and smaps, for the brk heap alone, is read every BRK_EVERY samples, the value carried between.
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
  /** Resident anonymous and file-backed (and shared-memory) bytes from /proc/self/status (NaN where it cannot be read). */
  anon: number;
  file: number;
  /** Resident bytes of the brk heap (glibc's main arena), from smaps as of the last read of it (every BRK_EVERY samples). */
  brk: number;
}

/** Resident bytes of the [heap] mapping in /proc/self/smaps. */
export function brkResident(text: string): number {
  const at = text.indexOf(' [heap]\n');
  if (at < 0) return 0;
  const m = /\nRss:\s+(\d+) kB/.exec(text.slice(at, at + 400));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Resident kinds from /proc/self/status (`RssAnon`, `RssFile`, `RssShmem`), in bytes. */
export function statusRss(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^(Rss\w+):\s+(\d+) kB$/gm)) out.set(m[1] as string, Number(m[2]) * 1024);
  return out;
}

const BRK_EVERY = 8;
let samplesTaken = 0;
let lastBrk = NaN;

export function takeSample(): MemorySample {
  const m = process.memoryUsage();
  let rss = new Map<string, number>();
  try {
    rss = statusRss(fs.readFileSync('/proc/self/status', 'utf8'));
    if (samplesTaken++ % BRK_EVERY === 0) lastBrk = brkResident(fs.readFileSync('/proc/self/smaps', 'utf8'));
  } catch {
    // not Linux: the V8 figures stand alone
  }
  const brk = lastBrk;
  return {
    at: Date.now(),
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    anon: rss.get('RssAnon') ?? NaN,
    file: (rss.get('RssFile') ?? NaN) + (rss.get('RssShmem') ?? 0),
    brk,
  };
}

const file = process.env['WEFT_MEMORY_SAMPLES'];
if (file !== undefined && file !== '') {
  const every = Number(process.env['WEFT_MEMORY_SAMPLE_MS'] ?? 500);
  const timer = setInterval(() => fs.appendFileSync(file, `${JSON.stringify(takeSample())}\n`), every > 0 ? every : 500);
  timer.unref();
}
