/**
 * Processes a previous `weft up` of this state directory left behind when it was killed outright (SIGKILL gives it
 * no chance to stop its children). Every process weft starts carries `WEFT_MESH_STATE=<state dir>` in its
 * environment, so the next start can find exactly those, and nothing else, and stop them.
 */
import fs from 'node:fs';
import { WeftError } from '../errors.js';
import { processAlive } from './process-alive.js';
import type { StateDirLayout } from './state-dir.js';

export const MESH_MARKER = 'WEFT_MESH_STATE';

/** Pids of live processes whose environment carries this mesh's marker. */
export function markedProcesses(stateRoot: string, procDir = '/proc'): number[] {
  const marker = Buffer.from(`${MESH_MARKER}=${stateRoot}\0`);
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(procDir);
  } catch {
    return pids;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (fs.readFileSync(`${procDir}/${entry}/environ`).includes(marker)) pids.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** SIGKILL what the last run left; returns how many processes were stopped. */
export function removeLeftoverProcesses(stateRoot: string): number {
  const pids = markedProcesses(stateRoot);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return pids.length;
}

/** One `weft up` per state directory: refuse one whose mesh.json names a `weft up` that is still alive. */
export function claimStateDir(layout: Pick<StateDirLayout, 'root' | 'meshFile'>): void {
  let previous: { pid?: number };
  try {
    previous = JSON.parse(fs.readFileSync(layout.meshFile, 'utf8')) as { pid?: number };
  } catch {
    return;
  }
  if (typeof previous.pid === 'number' && previous.pid !== process.pid && processAlive(previous.pid)) {
    throw new WeftError('CONFLICT', `a mesh is already running from ${layout.root} (weft up, pid ${previous.pid})`);
  }
}
