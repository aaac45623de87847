/**
 * Names of what weft creates in the kernel. Everything starts with "weft" and carries a short digest of the state
 * directory, so two meshes on one machine never collide and a person reading `ip link` knows what is whose.
 * Interface names are limited to 15 bytes (IFNAMSIZ), which is why the digest is short.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

export const NAME_PREFIX = 'weft';
const MAX_IFNAME = 15;
const MAX_NETNS_NAME = 200;
export const MAX_PODS = 240;
/** Every mesh's bridge is `weft0-<digest>`; nothing else weft makes starts so, which iptables' `weft0-+` relies on. */
export const BRIDGE_PREFIX = `${NAME_PREFIX}0-`;
/** iptables' interface wildcard for every mesh's bridge on this machine. */
export const ANY_MESH_BRIDGE = `${BRIDGE_PREFIX}+`;

export interface PodNames {
  /** Digest of the state directory, 6 hex digits. */
  mesh: string;
  bridge: string;
  /** The host end of pod `index`'s veth pair. */
  hostVeth(index: number): string;
  /** The network namespace of a workload. */
  netns(namespace: string, name: string): string;
}

export function meshDigest(stateDir: string): string {
  return createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 6);
}

export function podNames(stateDir: string): PodNames {
  const mesh = meshDigest(stateDir);
  return {
    mesh,
    bridge: `${BRIDGE_PREFIX}${mesh}`,
    hostVeth(index) {
      if (!Number.isInteger(index) || index < 0 || index >= MAX_PODS) throw new RangeError(`pod index ${index} out of range`);
      const name = `${NAME_PREFIX}-${mesh}-${index}`;
      if (name.length > MAX_IFNAME) throw new RangeError(`interface name ${name} is longer than ${MAX_IFNAME} bytes`);
      return name;
    },
    netns(namespace, name) {
      const full = `${NAME_PREFIX}-${mesh}-${namespace}-${name}`;
      if (full.length <= MAX_NETNS_NAME && /^[a-z0-9.-]+$/.test(full) && !full.includes('..')) return full;
      // Names are DNS-1123 already; this only guards the file name under /run/netns.
      const digest = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 12);
      return `${NAME_PREFIX}-${mesh}-${digest}`;
    },
  };
}

/**
 * True for names this mesh (state directory) creates; cleanup never touches anything else. Names are also file
 * names (/etc/netns/<name>, /run/netns/<name>), so one with a `/` or other characters weft never uses is not ours,
 * whatever its prefix: a ledger naming `weft-<mesh>-/../..` must not send a recursive delete up the tree.
 */
export function isMeshName(names: PodNames, name: string): boolean {
  if (!/^[a-z0-9.-]+$/.test(name) || name.includes('..')) return false;
  return name === names.bridge || name.startsWith(`${NAME_PREFIX}-${names.mesh}-`);
}
