/**
 * Virtual addresses (VIPs) from the mesh's service range: one per mesh service, and one per ServiceEntry host that
 * needs one. What a pod's DNS proxy answers and what its sidecar recognises on a captured connection.
 *
 * A VIP must not move when other services come and go: pods resolve a name once and keep connections, and a
 * moved VIP would send a long-lived client to another service. So a host's address comes from a hash of its
 * name, not from its position in a list. On a collision the host re-hashes (name, attempt) instead of taking the
 * next slot: linear probing builds runs of taken slots, so one added service could push a whole run along; with
 * re-hashing only a host whose own slot a newcomer takes can move. Which host keeps a contested slot cannot
 * depend on history if the result is to be a pure function of the set of hosts: hosts claim in name order.
 */
import { createHash } from 'node:crypto';
import { WeftError } from '../../errors.js';
import { hostsWantingVip, isPlainIPv4 } from '../registry/service-entries.js';
import type { MeshSnapshot } from './snapshot.js';
import { perSnapshot } from './snapshot-memo.js';

export interface ServiceRange {
  cidr: string;
  /** First and last assignable addresses, as numbers. */
  first: number;
  last: number;
}

export interface VipRequest {
  host: string;
  /** An address the resource asks for (a Service's clusterIP): kept when it lies in the range and is free. */
  pinned?: string | undefined;
}

/** Re-hashes before falling back to a scan, which then finds a free slot whenever one exists. */
const MAX_REHASH = 16;

function ipv4ToNumber(text: string): number | undefined {
  if (!isPlainIPv4(text)) return undefined;
  return text.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function numberToIPv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** [low, high] of an IPv4 CIDR or plain address, or undefined when it is neither (an IPv6 address, a typo). */
function addressSpan(text: string): [number, number] | undefined {
  const [addr = '', bits] = text.trim().split('/');
  const n = ipv4ToNumber(addr);
  const prefix = bits === undefined ? 32 : /^\d{1,2}$/.test(bits) ? Number(bits) : NaN;
  if (n === undefined || !(prefix >= 0 && prefix <= 32)) return undefined;
  const size = 2 ** (32 - prefix);
  const low = n - (n % size);
  return [low, low + size - 1];
}

/** The service range from `--service-cidr`: network and broadcast addresses are never handed out. */
export function parseServiceCidr(cidr: string): ServiceRange {
  const span = /^[\d.]+\/\d{1,2}$/.test(cidr.trim()) ? addressSpan(cidr) : undefined;
  if (!span) throw new WeftError('BAD_REQUEST', `service CIDR "${cidr}" is not an IPv4 CIDR like 198.19.200.0/24`);
  const [low, high] = span;
  if (ipv4ToNumber(cidr.trim().split('/')[0] ?? '') !== low) {
    throw new WeftError('BAD_REQUEST', `service CIDR "${cidr}" has host bits set (did you mean ${numberToIPv4(low)}/${cidr.split('/')[1]}?)`);
  }
  const edges = high - low >= 3;
  return { cidr: cidr.trim(), first: edges ? low + 1 : low, last: edges ? high - 1 : high };
}

function slotHash(host: string, attempt: number, size: number): number {
  return createHash('sha256').update(`${attempt}:${host}`).digest().readUInt32BE(0) % size;
}

/**
 * host → VIP. Pinned addresses are placed first, then every other host by its hash, in host order; addresses in
 * `reserved` (IPs or CIDRs that ServiceEntries name) are never handed out. Hosts beyond the range's capacity get
 * none. Duplicate hosts get one address.
 */
export function allocateVips(range: ServiceRange, requests: readonly VipRequest[], reserved: readonly string[] = []): Map<string, string> {
  const size = range.last - range.first + 1;
  const spans = reservedSlots(range, reserved);
  // A wide reservation (a ServiceEntry address 0.0.0.0/0) can leave few slots, or none: count them, never scan for them.
  const capacity = size - spans.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  const taken = new Set<number>();
  const free = (slot: number): boolean => !taken.has(slot) && spanAt(spans, slot) === undefined;
  // One request per host; of duplicates (a Service and a ServiceEntry naming one host), a pinned one counts.
  const byHost = new Map<string, VipRequest>();
  for (const r of [...requests].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0))) {
    if (!byHost.has(r.host) || byHost.get(r.host)?.pinned === undefined) byHost.set(r.host, r);
  }
  const out = new Map<string, number>();
  for (const r of byHost.values()) {
    const n = r.pinned === undefined ? undefined : ipv4ToNumber(r.pinned);
    if (n === undefined || n < range.first || n > range.last || !free(n - range.first)) continue;
    taken.add(n - range.first);
    out.set(r.host, n - range.first);
  }
  for (const host of byHost.keys()) {
    if (taken.size >= capacity) break;
    if (out.has(host)) continue;
    let slot = -1;
    for (let attempt = 0; attempt < MAX_REHASH && slot < 0; attempt++) {
      const s = slotHash(host, attempt, size);
      if (free(s)) slot = s;
    }
    // A free slot exists (taken < capacity); the scan steps over reserved spans whole, so it costs at most the taken run.
    for (let s = slotHash(host, MAX_REHASH - 1, size); slot < 0; ) {
      const span = spanAt(spans, s);
      if (span !== undefined) s = (span[1] + 1) % size;
      else if (taken.has(s)) s = (s + 1) % size;
      else slot = s;
    }
    taken.add(slot);
    out.set(host, slot);
  }
  return new Map([...out].map(([host, slot]) => [host, numberToIPv4(range.first + slot)]));
}

/** Reserved addresses as slots of the range: clipped to it, sorted, overlapping or touching spans merged. */
function reservedSlots(range: ServiceRange, reserved: readonly string[]): [number, number][] {
  const clipped = reserved
    .map(addressSpan)
    .filter((s): s is [number, number] => s !== undefined && s[1] >= range.first && s[0] <= range.last)
    .map(([lo, hi]): [number, number] => [Math.max(lo, range.first) - range.first, Math.min(hi, range.last) - range.first])
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of clipped) {
    const last = merged.at(-1);
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/** The merged span holding `slot`, by binary search. */
function spanAt(spans: readonly [number, number][], slot: number): [number, number] | undefined {
  let lo = 0;
  let hi = spans.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const span = spans[mid]!;
    if (slot < span[0]) hi = mid - 1;
    else if (slot > span[1]) lo = mid + 1;
    else return span;
  }
  return undefined;
}

/**
 * Every VIP of the snapshot, one table for every proxy: mesh services (a headless Service, clusterIP None, has
 * none) and the ServiceEntry hosts that need one. Empty without a service range: loopback pods have no VIPs.
 */
export function snapshotVips(snap: MeshSnapshot): ReadonlyMap<string, string> {
  return perSnapshot(snap, 'vips', () => {
    if (snap.serviceCidr === undefined) return new Map<string, string>();
    const { services, serviceEntries } = snap.registry;
    const requests: VipRequest[] = [
      ...services.filter((s) => s.clusterIP !== 'None').map((s) => ({ host: s.host, pinned: s.clusterIP })),
      ...serviceEntries.flatMap((e) => hostsWantingVip(e).map((host) => ({ host }))),
    ];
    const reserved = serviceEntries.flatMap((e) => e.addresses);
    return allocateVips(parseServiceCidr(snap.serviceCidr), requests, reserved);
  });
}
