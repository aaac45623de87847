/**
 * weft's default access-log line: `{"time":…,"msg":"access",` then the entry's own fields in their order, as
 * `JSON.stringify` would write them. Written by hand because the generic path cost twice as much per line (a copy of
 * the entry without its three unlogged fields, then a stringify of that copy and a slice of the result), and the
 * line is made for every request a proxy handles. The fields are flat scalars but for a few small objects (authz,
 * egress, rateLimit, dryRun), which go through `JSON.stringify`; a property test holds the output to
 * `JSON.stringify`'s.
 */
import type { AccessLogEntry } from './access-log.js';

/** Fields an entry carries for other consumers, never logged: the hop's trace, the raw headers, the socket. */
function unlogged(key: string): boolean {
  return key === 'trace' || key === 'requestHeaders' || key === 'connection';
}

function jsonValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return JSON.stringify(v) ?? 'null';
  }
}

/**
 * The ISO time of the last millisecond asked for: at saturation several lines share a millisecond, and
 * `Date#toISOString` allocates a Date and a string each time.
 */
let isoMs = Number.NaN;
let iso = '';
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

export function jsonAccessLine(entry: AccessLogEntry, endMs: number): string {
  let line = `{"time":"${isoTime(endMs)}","msg":"access"`;
  const fields = entry as unknown as Record<string, unknown>;
  for (const key in fields) {
    if (unlogged(key)) continue;
    const v = fields[key];
    // JSON.stringify leaves out undefined values, functions and symbols alike.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    line += `,"${key}":${jsonValue(v)}`;
  }
  return `${line}}\n`;
}
