/**
 * Choosing the pods' subnet: a /24 inside the pod range (by default 198.18.0.0/15, RFC 2544's block reserved for
 * network testing, so it is unlikely to be a real network here) that overlaps no network the machine already has
 * an address in. Pure IPv4 arithmetic; the caller reads the machine's addresses.
 */
import { WeftError } from '../../errors.js';

export const DEFAULT_POD_RANGE = '198.18.0.0/15';
const POD_PREFIX = 24;
/** .1 is the bridge (the pods' gateway and where they reach the control plane); pods start at .10. */
const FIRST_POD_HOST = 10;

export interface Cidr {
  network: number;
  prefix: number;
}

export interface HostAddress {
  address: string;
  prefix: number;
}

export interface PodSubnet {
  /** e.g. "198.18.42.0/24" */
  cidr: string;
  prefix: number;
  bridgeAddress: string;
  podAddress(index: number): string;
  maxPods: number;
}

export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function parseCidr(text: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const address = m ? parseIPv4(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (address === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new WeftError('BAD_REQUEST', `pod range "${text}" is not an IPv4 CIDR like ${DEFAULT_POD_RANGE}`);
  }
  if ((address & ~mask(prefix)) >>> 0 !== 0) {
    throw new WeftError('BAD_REQUEST', `pod range "${text}" has host bits set (did you mean ${formatIPv4((address & mask(prefix)) >>> 0)}/${prefix}?)`);
  }
  return { network: address, prefix };
}

/** Two networks overlap when one contains the other: compare them under the shorter prefix. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const m = mask(Math.min(a.prefix, b.prefix));
  return ((a.network & m) >>> 0) === ((b.network & m) >>> 0);
}

/**
 * The first /24 of `range`, starting at block `preferred` (wrapping around), that overlaps no host address's
 * network. A range narrower than /24 is used whole. `preferred` spreads meshes over the range.
 */
export function choosePodSubnet(range: string, hostAddresses: readonly HostAddress[], preferred = 0): PodSubnet {
  const pool = parseCidr(range);
  const prefix = Math.max(pool.prefix, POD_PREFIX);
  if (prefix > 28) throw new WeftError('BAD_REQUEST', `pod range ${range} is too small: it needs at least a /28`);
  const blocks = 2 ** (prefix - pool.prefix);
  const size = 2 ** (32 - prefix);
  const taken: Cidr[] = [];
  for (const h of hostAddresses) {
    const address = parseIPv4(h.address);
    if (address !== undefined) taken.push({ network: (address & mask(h.prefix)) >>> 0, prefix: h.prefix });
  }
  for (let i = 0; i < blocks; i++) {
    const block = (((preferred % blocks) + blocks) % blocks + i) % blocks;
    const candidate = { network: pool.network + block * size, prefix };
    if (!taken.some((t) => overlaps(candidate, t))) return podSubnet(candidate);
  }
  throw new WeftError('NETNS_NO_POD_SUBNET', `every /${prefix} of pod range ${range} overlaps an address this machine already has; choose another range (--pod-range)`);
}

function podSubnet(c: Cidr): PodSubnet {
  const size = 2 ** (32 - c.prefix);
  // The last address is the broadcast address.
  const maxPods = size - FIRST_POD_HOST - 1;
  return {
    cidr: `${formatIPv4(c.network)}/${c.prefix}`,
    prefix: c.prefix,
    bridgeAddress: formatIPv4(c.network + 1),
    maxPods,
    podAddress(index) {
      if (!Number.isInteger(index) || index < 0 || index >= maxPods) throw new RangeError(`pod subnet ${formatIPv4(c.network)}/${c.prefix} holds at most ${maxPods} pods`);
      return formatIPv4(c.network + FIRST_POD_HOST + index);
    },
  };
}

/** The IPv4 addresses of `ip -j addr` output (the machine's, or a namespace's). */
export function hostAddressesFromIpJson(json: string): HostAddress[] {
  const links = JSON.parse(json || '[]') as { addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' && typeof a.local === 'string' && typeof a.prefixlen === 'number')
      .map((a) => ({ address: a.local!, prefix: a.prefixlen! })),
  );
}
