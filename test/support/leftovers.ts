/**
 * What a test run left on the machine: processes of a mesh whose starter is gone, network namespaces a test made
 * for itself, and the kernel objects (pod namespaces, bridge, host chains) of a mesh none of whose processes lives.
 * The suite removes them before it starts (what a killed earlier run left) and checks for them when it ends.
 *
 * A process is an orphan when the `WEFT_PARENT_PID` in its environment (every process `weft up` starts has it, and
 * so does every `weft up` a test or bench starts) names a process that no longer lives. A user's own mesh started
 * from a shell is never touched: its `weft up` has no such variable and its children's starter is alive.
 */
import fs from 'node:fs';
import { meshDigest } from '../../src/mesh/netns/pod-names.js';
import { processAlive } from '../../src/mesh/process-alive.js';
import { removeMeshObjects, run } from './netns-traces.js';
import { TEST_NETNS_PREFIX } from './test-netns.js';

export type Leftover =
  | { kind: 'process'; pid: number; command: string }
  | { kind: 'test-netns'; name: string }
  | { kind: 'mesh-objects'; digest: string; objects: string[] };

interface MarkedProcess {
  pid: number;
  parent: number | undefined;
  stateDir: string | undefined;
  command: string;
}

function environValue(environ: Buffer, key: string): string | undefined {
  for (const entry of environ.toString('utf8').split('\0')) {
    if (entry.startsWith(`${key}=`)) return entry.slice(key.length + 1);
  }
  return undefined;
}

function markedProcesses(): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`);
      const parent = environValue(environ, 'WEFT_PARENT_PID');
      const stateDir = environValue(environ, 'WEFT_MESH_STATE');
      if (parent === undefined && stateDir === undefined) continue;
      const command = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), parent: parent === undefined ? undefined : Number(parent), stateDir, command });
    } catch {
      // gone this instant, or a kernel thread
    }
  }
  return found;
}

const MESH_OBJECT = /\bweft0?-([0-9a-f]{6})\b/;

export async function findLeftovers(): Promise<Leftover[]> {
  const leftovers: Leftover[] = [];
  const live = new Set<string>();
  for (const p of markedProcesses()) {
    const orphan = p.parent !== undefined && !processAlive(p.parent);
    if (orphan) leftovers.push({ kind: 'process', pid: p.pid, command: p.command });
    else if (p.stateDir !== undefined) live.add(meshDigest(p.stateDir));
  }
  const namespaces = (await run('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
  for (const name of namespaces) if (name.startsWith(TEST_NETNS_PREFIX)) leftovers.push({ kind: 'test-netns', name });

  // A mesh's objects all carry its state directory's digest: namespaces, the bridge and veths, host chains.
  const byDigest = new Map<string, string[]>();
  const links = (await run('ip', ['-o', 'link'])).stdout.split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '');
  const chains = (await run('iptables-save', []).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((l) => l.startsWith(':'));
  for (const object of [...namespaces, ...links, ...chains.map((l) => l.slice(1).split(' ')[0] ?? '')]) {
    const digest = MESH_OBJECT.exec(object)?.[1];
    if (digest === undefined || live.has(digest)) continue;
    byDigest.set(digest, [...(byDigest.get(digest) ?? []), object]);
  }
  for (const [digest, objects] of byDigest) leftovers.push({ kind: 'mesh-objects', digest, objects });
  return leftovers;
}

export function describeLeftover(l: Leftover): string {
  switch (l.kind) {
    case 'process':
      return `process ${l.pid}: ${l.command}`;
    case 'test-netns':
      return `network namespace ${l.name}`;
    case 'mesh-objects':
      return `mesh ${l.digest}: ${l.objects.join(', ')}`;
  }
}

export async function removeLeftover(l: Leftover): Promise<void> {
  switch (l.kind) {
    case 'process':
      try {
        process.kill(l.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      return;
    case 'test-netns': {
      // Deleting a namespace does not end the processes inside it (a test's servers).
      const pids = (await run('ip', ['netns', 'pids', l.name]).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await run('ip', ['netns', 'delete', l.name]).catch(() => undefined);
      return;
    }
    case 'mesh-objects':
      await removeMeshObjects(l.digest);
      return;
  }
}
