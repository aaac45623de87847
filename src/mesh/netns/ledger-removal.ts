/**
 * Removing what a mesh's ResourceLedger records: newest first, only objects named as this mesh's, killing what still
 * runs in a namespace before deleting it. `PodNetwork.open` runs it for a previous run's leftovers, teardown for
 * its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hostEgressExists, IP_FORWARD_SYSCTL, isHostEgressKind, removeHostEgress } from './host-egress.js';
import type { CommandRunner } from './ip-command.js';
import { isMeshName } from './pod-names.js';
import type { PodNames } from './pod-names.js';
import type { NetnsResource, ResourceLedger } from './resource-ledger.js';

export interface NetnsTools {
  ip: string;
  iptables: string;
  run: CommandRunner;
  kill: (pid: number) => void;
  log: (line: string) => void;
  etcNetnsDir: string;
  procSys: string;
  runDir: string;
}

/** Only this mesh's names, and the one host setting weft may change, are ever acted on from the ledger. */
function owned(names: PodNames, r: NetnsResource): boolean {
  return r.kind === 'ip-forward' ? r.name === IP_FORWARD_SYSCTL : isMeshName(names, r.name);
}

/**
 * Newest first, so veths go before their namespaces, the host's chains before the forwarding they rely on, and
 * the bridge last. Returns how many existed.
 */
export async function removeRecorded(ledger: ResourceLedger, names: PodNames, t: NetnsTools): Promise<number> {
  let removed = 0;
  for (const r of [...ledger.resources].reverse()) {
    if (!owned(names, r)) {
      t.log(`not removing ${r.kind} ${r.name}: the ledger lists it but it is not named as this mesh's`);
      ledger.forget(r);
      continue;
    }
    if (await objectExists(r, t)) {
      if (isHostEgressKind(r.kind)) {
        await removeHostEgress(r, t, names.bridge);
      } else if (r.kind === 'hosts') {
        fs.rmSync(path.join(t.etcNetnsDir, r.name), { recursive: true, force: true });
      } else if (r.kind === 'capture') {
        // Rules live in the pod's namespace, removed with it (it is older, so it comes next).
      } else if (r.kind === 'netns') {
        for (const pid of await netnsPids(r.name, t)) t.kill(pid);
        await t.run(t.ip, ['netns', 'delete', r.name]);
      } else {
        await t.run(t.ip, ['link', 'delete', r.name]).catch(async (err: unknown) => {
          // Deleting a namespace takes its veth peers with it, sometimes a moment later.
          if (await objectExists(r, t)) throw err;
        });
      }
      removed++;
    }
    ledger.forget(r);
  }
  return removed;
}

/** Whether the object `r` names is there now (a ledger entry may outlive its object). */
export async function objectExists(r: NetnsResource, t: Pick<NetnsTools, 'ip' | 'iptables' | 'run' | 'etcNetnsDir' | 'procSys' | 'runDir'>): Promise<boolean> {
  if (isHostEgressKind(r.kind)) return hostEgressExists(r, t);
  if (r.kind === 'hosts') return fs.existsSync(path.join(t.etcNetnsDir, r.name));
  if (r.kind === 'netns' || r.kind === 'capture') return (await listNetns(t)).includes(r.name);
  try {
    await t.run(t.ip, ['link', 'show', 'dev', r.name]);
    return true;
  } catch {
    return false;
  }
}

/** `ip netns list` prints "name" or "name (id: N)" per line. */
async function listNetns(t: Pick<NetnsTools, 'ip' | 'run'>): Promise<string[]> {
  const { stdout } = await t.run(t.ip, ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

async function netnsPids(netns: string, t: Pick<NetnsTools, 'ip' | 'run'>): Promise<number[]> {
  const { stdout } = await t.run(t.ip, ['netns', 'pids', netns]);
  return stdout
    .split('\n')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 1);
}
