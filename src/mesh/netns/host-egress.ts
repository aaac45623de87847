/**
 * The host's side of pods' egress: a sidecar's own connections to destinations outside the mesh (ServiceEntry,
 * ALLOW_ANY, upstream DNS) leave the pod by its default route to the bridge, and the host forwards and masquerades
 * them like a container runtime does. weft owns two chains named for its mesh, one in filter (FORWARD) and one in
 * nat (POSTROUTING), and exactly one jump to each; it never edits a rule it did not create. IPv4 forwarding is
 * turned on only if it is off. The value it had is kept host-wide (`/run/weft/`, gone at reboot with the setting
 * itself), because meshes share the switch: each mesh that relies on weft's forwarding records so in its ledger,
 * and the last one to stop (no other mesh bridge left) restores the host-wide value; without that file (a reboot
 * since) there is nothing of weft's to restore.
 * An app cannot use this path to skip its sidecar: its pod's capture rules redirect all its TCP and DNS; only
 * other UDP is left uncaptured, as in Istio.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandRunner } from './ip-command.js';
import type { NetnsResource } from './resource-ledger.js';
import { ANY_MESH_BRIDGE, BRIDGE_PREFIX } from './pod-names.js';

export const IP_FORWARD_SYSCTL = 'net.ipv4.ip_forward';

export type HostChainKind = 'forward-chain' | 'masquerade-chain';

export interface HostChain {
  kind: HostChainKind;
  table: 'filter' | 'nat';
  hook: 'FORWARD' | 'POSTROUTING';
  name: string;
  /** Appended to the chain, in order, after it is created and before the jump to it is inserted. */
  rules: string[][];
}

export interface HostEgressTools {
  ip: string;
  iptables: string;
  run: CommandRunner;
  /** Root of the sysctl tree (/proc/sys). */
  procSys: string;
  /** Host-wide runtime state shared by this machine's meshes (/run/weft). */
  runDir: string;
}

/** In `runDir`: the forwarding value from before any mesh turned it on. */
const FORWARDING_BEFORE_FILE = 'ip-forward-before-weft';

const HOOKS: Record<HostChainKind, Pick<HostChain, 'table' | 'hook'>> = {
  'forward-chain': { table: 'filter', hook: 'FORWARD' },
  'masquerade-chain': { table: 'nat', hook: 'POSTROUTING' },
};

/**
 * The mesh's two host chains; `meshPrefix` is `weft-<digest>`, so every name is recognisably this mesh's.
 * `forwardingIsWeft`: IPv4 forwarding was off before weft turned it on (this mesh or another still running), so
 * the host forwards nothing but pods' traffic, as it forwarded nothing before.
 */
export function hostChains(meshPrefix: string, bridge: string, podCidr: string, o: { forwardingIsWeft: boolean }): HostChain[] {
  return [
    {
      kind: 'forward-chain',
      ...HOOKS['forward-chain'],
      name: `${meshPrefix}-forward`,
      rules: [
        // Pod to pod across this mesh's bridge, when bridged frames meet iptables (br_netfilter, loaded by Docker).
        ['-i', bridge, '-o', bridge, '-j', 'ACCEPT'],
        // Out to the world, but never into another mesh's pods: this chain may come first in FORWARD, and its accept
        // would end the walk before that mesh's own chain could refuse the connection.
        ['-i', bridge, '-o', ANY_MESH_BRIDGE, '-j', 'DROP'],
        ['-i', bridge, '-j', 'ACCEPT'],
        // Only replies come back in: nothing outside may open a connection to a pod through the host. The drop is
        // needed for that: with FORWARD's policy ACCEPT (a host without Docker) the packet would be let through.
        // It only ever matches packets bound for this mesh's own bridge.
        ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
        ['-o', bridge, '-j', 'DROP'],
        // A host that forwarded nothing before must not start routing between its other interfaces now.
        ...(o.forwardingIsWeft ? [['!', '-i', ANY_MESH_BRIDGE, '!', '-o', ANY_MESH_BRIDGE, '-j', 'DROP']] : []),
      ],
    },
    {
      kind: 'masquerade-chain',
      ...HOOKS['masquerade-chain'],
      name: `${meshPrefix}-masquerade`,
      rules: [['-s', podCidr, '!', '-o', bridge, '-j', 'MASQUERADE']],
    },
  ];
}

/** The iptables argument lists that create `c` and hook it in: chain, its rules, then the one jump (first in its hook). */
export function hostChainCommands(c: HostChain): string[][] {
  return [
    ['-w', '-t', c.table, '-N', c.name],
    ...c.rules.map((r) => ['-w', '-t', c.table, '-A', c.name, ...r]),
    ['-w', '-t', c.table, '-I', c.hook, '1', '-j', c.name],
  ];
}

export async function createHostChain(t: HostEgressTools, c: HostChain): Promise<void> {
  for (const args of hostChainCommands(c)) await t.run(t.iptables, args);
}

/**
 * What to record before forwarding is switched on: with the value to restore when it is off now; without one when
 * another mesh turned it on (this mesh shares it); undefined when it was on before any mesh, and is not weft's.
 */
export function forwardingClaim(t: HostEgressTools): NetnsResource | undefined {
  const now = readSysctl(t.procSys, IP_FORWARD_SYSCTL);
  if (now !== '1') return { kind: 'ip-forward', name: IP_FORWARD_SYSCTL, restore: now };
  return readForwardingBefore(t) === undefined ? undefined : { kind: 'ip-forward', name: IP_FORWARD_SYSCTL };
}

/** Switches forwarding on for a claim that found it off, keeping the old value where every mesh can find it. */
export function turnOnForwarding(t: HostEgressTools, claim: NetnsResource): void {
  if (claim.restore === undefined) return;
  fs.mkdirSync(t.runDir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(t.runDir, FORWARDING_BEFORE_FILE), `${claim.restore}\n`);
  writeSysctl(t.procSys, IP_FORWARD_SYSCTL, '1');
}

/** Restores forwarding unless another mesh's bridge still relies on it (that mesh restores it when it stops). */
async function releaseForwarding(r: NetnsResource, t: HostEgressTools, ownBridge: string): Promise<void> {
  const { stdout } = await t.run(t.ip, ['-o', 'link', 'show', 'type', 'bridge']);
  const others = stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n) => n !== undefined && new RegExp(`^${BRIDGE_PREFIX}[0-9a-f]{6}$`).test(n) && n !== ownBridge);
  if (others.length > 0) return;
  // Only the host-wide file, which lives exactly as long as this boot's setting, says weft changed it. The ledger's
  // value alone may be from before a reboot, and the forwarding someone (Docker) has turned on since is not weft's.
  const before = readForwardingBefore(t);
  if (before === undefined) return;
  writeSysctl(t.procSys, IP_FORWARD_SYSCTL, before);
  fs.rmSync(path.join(t.runDir, FORWARDING_BEFORE_FILE), { force: true });
}

function readForwardingBefore(t: HostEgressTools): string | undefined {
  try {
    const v = fs.readFileSync(path.join(t.runDir, FORWARDING_BEFORE_FILE), 'utf8').trim();
    return /^[0-9]$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export function isHostEgressKind(kind: NetnsResource['kind']): boolean {
  return kind === 'forward-chain' || kind === 'masquerade-chain' || kind === 'ip-forward';
}

export async function hostEgressExists(r: NetnsResource, t: HostEgressTools): Promise<boolean> {
  if (r.kind === 'ip-forward') return true;
  const { table } = HOOKS[r.kind as HostChainKind];
  return succeeds(t.run(t.iptables, ['-w', '-t', table, '-S', r.name]));
}

/** Removes the jump to a chain (every copy of exactly that jump), then the chain; releases forwarding. */
export async function removeHostEgress(r: NetnsResource, t: HostEgressTools, ownBridge: string): Promise<void> {
  if (r.kind === 'ip-forward') return releaseForwarding(r, t, ownBridge);
  const { table, hook } = HOOKS[r.kind as HostChainKind];
  while (await succeeds(t.run(t.iptables, ['-w', '-t', table, '-C', hook, '-j', r.name]))) {
    await t.run(t.iptables, ['-w', '-t', table, '-D', hook, '-j', r.name]);
  }
  await t.run(t.iptables, ['-w', '-t', table, '-F', r.name]);
  await t.run(t.iptables, ['-w', '-t', table, '-X', r.name]);
}

export function readSysctl(procSys: string, name: string): string {
  return fs.readFileSync(sysctlPath(procSys, name), 'utf8').trim();
}

export function writeSysctl(procSys: string, name: string, value: string): void {
  fs.writeFileSync(sysctlPath(procSys, name), `${value}\n`);
}

function sysctlPath(procSys: string, name: string): string {
  return path.join(procSys, ...name.split('.'));
}

async function succeeds(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => true,
    () => false,
  );
}
