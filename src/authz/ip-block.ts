/**
 * CIDR blocks for ipBlocks, remoteIpBlocks, source.ip, remote.ip and destination.ip. A bare address is a
 * host route (/32 or /128), as Istio compiles it; IPv4 never matches an IPv6 block and vice versa.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface IpAddress {
  readonly family: 4 | 6;
  readonly bits: bigint;
}

export interface CidrBlock {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly mask: bigint;
}

export function parseIpAddress(text: string): IpAddress | null {
  if (isIPv4(text)) {
    let bits = 0n;
    for (const part of text.split('.')) bits = (bits << 8n) | BigInt(Number(part));
    return { family: 4, bits };
  }
  if (isIPv6(text) && !text.includes('%')) return { family: 6, bits: ipv6Bits(text) };
  return null;
}

function ipv6Bits(text: string): bigint {
  let head = text;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // An embedded dotted quad fills the last 32 bits.
    tailV4 = tail.split('.').map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  let bits = 0n;
  for (const g of groups) bits = (bits << 16n) | BigInt(parseInt(g, 16));
  if (tailV4.length === 4) {
    bits = (bits >> 32n) << 32n;
    bits |= BigInt(((tailV4[0]! << 24) >>> 0) + (tailV4[1]! << 16) + (tailV4[2]! << 8) + tailV4[3]!);
  }
  return bits;
}

/** Parses `addr` or `addr/len` the way Go's netip does for Istio's validation; null when malformed. */
export function parseCidr(text: string): CidrBlock | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIpAddress(addrText);
  if (!addr) return null;
  const width = addr.family === 4 ? 32 : 128;
  let len = width;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
    len = Number(lenText);
    if (len > width) return null;
  }
  const all = (1n << BigInt(width)) - 1n;
  const mask = len === 0 ? 0n : (all >> BigInt(width - len)) << BigInt(width - len);
  return { family: addr.family, network: addr.bits & mask, mask };
}

export function cidrContains(block: CidrBlock, addr: IpAddress | null): boolean {
  return addr !== null && addr.family === block.family && (addr.bits & block.mask) === block.network;
}
