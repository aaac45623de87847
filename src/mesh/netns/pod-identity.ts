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

/** `setpriv` and the hardening flags this version of it knows, as it spells them. */
export interface PrivilegeDrop {
  setpriv: string;
  flags: ReadonlySet<string>;
}

/** The hardening flags a `setpriv --help` text lists. */
export function setprivFlags(helpText: string): Set<string> {
  const listed = new Set(helpText.match(/--[a-z][a-z-]*/g) ?? []);
  return new Set(HARDENING.flatMap((h) => h.spellings.filter((f) => listed.has(f))));
}

function spelling(drop: PrivilegeDrop, h: (typeof HARDENING)[number]): string | undefined {
  return h.spellings.find((f) => drop.flags.has(f));
}

/** Hardening this setpriv cannot apply (an old util-linux): `weft up` says so rather than pretend. */
export function missingHardening(drop: PrivilegeDrop): string[] {
  return HARDENING.filter((h) => spelling(drop, h) === undefined).map((h) => h.spellings[0]!);
}

/** setpriv's arguments that drop to `id`, with every hardening flag this setpriv supports. */
export function dropArgs(drop: PrivilegeDrop, id: ProcessIdentity): string[] {
  const hardening = HARDENING.flatMap((h) => {
    const flag = spelling(drop, h);
    return flag === undefined ? [] : [h.value === undefined ? flag : `${flag}=${h.value}`];
  });
  return [`--reuid=${id.uid}`, `--regid=${id.gid}`, ...hardening];
}

/** `command args` as run under `id`; the same wrapper serves the app, the sidecar and tests that act as either. */
export function asIdentity(drop: PrivilegeDrop, id: AppIdentity, command: string, args: readonly string[]): { command: string; args: string[] } {
  if (id === 'root') return { command, args: [...args] };
  return { command: drop.setpriv, args: [...dropArgs(drop, id), command, ...args] };
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
