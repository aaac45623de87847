/** A proxy's access log, as the pod tests read it: its JSON access lines, typed by the fields they check. */
import fs from 'node:fs';

export interface AccessLine {
  msg?: string;
  direction?: string;
  method?: string;
  path?: string;
  status?: number;
  peer?: string;
  authz?: { decision: string; policy: string | null; rule: number | null };
  responseFlags?: string;
  attempts?: number;
}

/** The inbound access lines of one sidecar's log so far (none before it exists). */
export function inboundAccessLines(logFile: string): AccessLine[] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"time"') && l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as AccessLine)
    .filter((e) => e.msg === 'access' && e.direction === 'inbound');
}

/** The access lines of one direction (`outbound`, `gateway`) of a proxy's log so far. */
export function accessLines(logFile: string, direction: string): AccessLine[] {
  if (!fs.existsSync(logFile)) return [];
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"time"') && l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as AccessLine)
    .filter((e) => e.msg === 'access' && e.direction === direction);
}
