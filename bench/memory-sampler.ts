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
 * figures). The brk heap's resident pages come from the page map of that one range (maps names the range,
 * pagemap has 8 bytes a page, bit 63 set when the page is present), read every BRK_EVERY samples: smaps, read
 * there before, still cost a replica 30-70 ms of its change window under load, where this costs 2-18 ms.
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
  /** Resident bytes of the brk heap (glibc's main arena) as of the last read of it (every BRK_EVERY samples). */
  brk: number;
}

/** The brk heap's address range, from the text of /proc/self/maps; undefined when there is none. */
export function heapRange(maps: string): { start: number; end: number } | undefined {
  const m = /^([0-9a-f]+)-([0-9a-f]+) [^\n]*\[heap\]$/m.exec(maps);
  return m ? { start: parseInt(m[1] as string, 16), end: parseInt(m[2] as string, 16) } : undefined;
}

/** Linux's page size on the machines the bench runs on (x86-64, and arm64 as Debian builds it). */
const PAGE_BYTES = 4096;

/** Pages whose pagemap entry (8 bytes, little-endian) has bit 63, "present", set. */
export function presentPages(pagemap: Buffer): number {
  let n = 0;
  for (let i = 7; i < pagemap.length; i += 8) if (((pagemap[i] as number) & 0x80) !== 0) n++;
  return n;
}

/** Resident bytes of this process's brk heap. */
export function brkResident(): number {
  const range = heapRange(fs.readFileSync('/proc/self/maps', 'latin1'));
  if (range === undefined) return 0;
  const entries = Buffer.alloc(((range.end - range.start) / PAGE_BYTES) * 8);
  const fd = fs.openSync('/proc/self/pagemap', 'r');
  try {
    fs.readSync(fd, entries, 0, entries.length, (range.start / PAGE_BYTES) * 8);
  } finally {
    fs.closeSync(fd);
  }
  return presentPages(entries) * PAGE_BYTES;
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
    if (samplesTaken++ % BRK_EVERY === 0) lastBrk = brkResident();
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
