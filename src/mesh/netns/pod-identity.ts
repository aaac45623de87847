/**
 * Who a netns pod's processes run as. Capture is a set of iptables rules in the pod's own namespace, and they let
 * the sidecar's uid through: a process with CAP_NET_ADMIN could flush them, one with CAP_SETUID could become the
 * sidecar, and root could read the state directory (the CA key) or the sidecar's environment (its bootstrap
 * token). So the app runs under an identity of its own, with no capabilities, an empty bounding set and
 * no_new_privs: nothing it executes (a setuid binary included) gives any of them back. Only a Workload that writes
 * `securityContext.runAsUser: 0` runs as root, and then its capture is advisory.
 */
import { WeftError } from '../../errors.js';
import type { WorkloadSecurityContext } from '../../config/kinds/workload.js';
import type { CommandRunner } from './ip-command.js';
import { execCommand, findSystemCommand } from './ip-command.js';

/**
 * Where the apps' default uids start. Each pod gets its own (base + the low 17 bits of its address, unique over
 * 198.18.0.0/15 and so across the meshes of one machine): pods have no PID namespace, and two apps under one uid
 * could signal, inspect or ptrace each other, and so act as each other's workload.
 */
export const APP_UID_BASE = 200_000;

export interface ProcessIdentity {
  uid: number;
  gid: number;
}

/** 'root': the Workload asked for uid 0 in so many words; the app keeps every privilege of `weft up`. */
export type AppIdentity = ProcessIdentity | 'root';

/** The identity of the app of the pod at `podIP` when its Workload names none: not root, not 1337, not another pod's. */
export function podAppIdentity(podIP: string): ProcessIdentity {
  const octets = podIP.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new TypeError(`not an IPv4 address: ${podIP}`);
  const id = APP_UID_BASE + (((octets[1]! & 1) << 16) | (octets[2]! << 8) | octets[3]!);
  return { uid: id, gid: id };
}

export function appIdentity(sc: WorkloadSecurityContext | undefined, pod: ProcessIdentity): AppIdentity {
  if (sc?.runAsUser === 0) return 'root';
  return { uid: sc?.runAsUser ?? pod.uid, gid: sc?.runAsGroup ?? sc?.runAsUser ?? pod.gid };
}

/**
 * What takes privileges away beyond the uid switch, each as setpriv spells it. Switching away from uid 0 already
 * empties the permitted and effective sets; these keep them empty for everything the process executes later.
 */
const HARDENING: readonly { spellings: readonly string[]; value?: string }[] = [
  { spellings: ['--clear-groups'] },
  { spellings: ['--inh-caps'], value: '-all' },
  { spellings: ['--bounding-set'], value: '-all' },
  { spellings: ['--no-new-privs', '--nnp'] },
];

/** How a dropped process keeps one capability across exec (the ingress gateway's port binding): setpriv ≥ 2.31. */
const AMBIENT_CAPS = '--ambient-caps';

/**
 * The one capability a dropped process may keep: binding a port below the unprivileged start (the ingress
 * gateway on 80 or 443), as setpriv names it.
 */
export type KeptCapability = 'net_bind_service';

/** `setpriv` and the hardening flags this version of it knows, as it spells them. */
export interface PrivilegeDrop {
  setpriv: string;
  flags: ReadonlySet<string>;
}

/** The hardening flags (and --ambient-caps) a `setpriv --help` text lists. */
export function setprivFlags(helpText: string): Set<string> {
  const listed = new Set(helpText.match(/--[a-z][a-z-]*/g) ?? []);
  return new Set([...HARDENING.flatMap((h) => h.spellings.filter((f) => listed.has(f))), ...(listed.has(AMBIENT_CAPS) ? [AMBIENT_CAPS] : [])]);
}

function spelling(drop: PrivilegeDrop, h: (typeof HARDENING)[number]): string | undefined {
  return h.spellings.find((f) => drop.flags.has(f));
}

/** Hardening this setpriv cannot apply (an old util-linux): `weft up` says so rather than pretend. */
export function missingHardening(drop: PrivilegeDrop): string[] {
  return HARDENING.filter((h) => spelling(drop, h) === undefined).map((h) => h.spellings[0]!);
}

/**
 * setpriv's arguments that drop to `id`, with every hardening flag this setpriv supports. A `keep` capability stays
 * in the bounding, inheritable and ambient sets (ambient: a process that is not root keeps it across exec) and is
 * the only one left; no_new_privs still applies.
 */
export function dropArgs(drop: PrivilegeDrop, id: ProcessIdentity, keep: readonly KeptCapability[] = []): string[] {
  if (keep.length > 0 && !drop.flags.has(AMBIENT_CAPS)) {
    throw new WeftError('PRIVILEGE_DROP_UNAVAILABLE', `this setpriv has no ${AMBIENT_CAPS}: cannot keep ${keep.join(', ')} for a process that is not root`);
  }
  const kept = keep.map((c) => `,+${c}`).join('');
  const hardening = HARDENING.flatMap((h) => {
    const flag = spelling(drop, h);
    if (flag === undefined) return [];
    return [h.value === undefined ? flag : `${flag}=${h.value}${flag === '--inh-caps' || flag === '--bounding-set' ? kept : ''}`];
  });
  const ambient = keep.length > 0 ? [`${AMBIENT_CAPS}=-all${kept}`] : [];
  return [`--reuid=${id.uid}`, `--regid=${id.gid}`, ...hardening, ...ambient];
}

/** `command args` as run under `id`; the same wrapper serves the app, the sidecar, the gateway and tests that act as either. */
export function asIdentity(
  drop: PrivilegeDrop,
  id: AppIdentity,
  command: string,
  args: readonly string[],
  keep: readonly KeptCapability[] = [],
): { command: string; args: string[] } {
  if (id === 'root') return { command, args: [...args] };
  return { command: drop.setpriv, args: [...dropArgs(drop, id, keep), command, ...args] };
}

/** Finds setpriv and what it supports; netns pods cannot be started without it. */
export async function probePrivilegeDrop(
  run: CommandRunner = execCommand,
  find: (name: string) => string | undefined = findSystemCommand,
): Promise<PrivilegeDrop> {
  const setpriv = find('setpriv');
  if (setpriv === undefined) throw new WeftError('NETNS_UNAVAILABLE', 'setpriv (util-linux) is not installed: netns pods cannot drop their processes’ privileges');
  const { stdout, stderr } = await run(setpriv, ['--help']);
  return { setpriv, flags: setprivFlags(`${stdout}\n${stderr}`) };
}
