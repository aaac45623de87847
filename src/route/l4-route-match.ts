/**
 * TCP and TLS routes for opaque ports: the first route with a matching entry wins (a TCP route without entries
 * matches every connection). An entry holds when every condition it sets holds: the SNI the client sent against
 * `sniHosts` (exact, `*.suffix` for one or more labels more, or `*`; case-insensitive), the port dialled, and the
 * address dialled within one of `destinationSubnets`.
 */
import { BlockList, isIP } from 'node:net';
import type { L4Route } from '../proxyconfig/types.js';
import { hostMatches } from './http-route-match.js';

export interface L4Request {
  /** The TLS ClientHello's server name; undefined for plain TCP or a hello without SNI. */
  sni: string | undefined;
  destinationAddress: string;
  destinationPort: number;
}

interface CompiledL4Match {
  readonly sniHosts: readonly string[] | undefined;
  readonly subnets: BlockList | undefined;
  readonly port: number | undefined;
}

export interface CompiledL4Route {
  readonly route: L4Route;
  readonly matches: readonly CompiledL4Match[];
}

function subnetList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [ip, bits] = c.split('/') as [string, string | undefined];
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return list;
}

export function compileL4Routes(routes: readonly L4Route[]): CompiledL4Route[] {
  return routes.map((route) => ({
    route,
    matches: route.match.map((m) => ({
      sniHosts: m.sniHosts?.map((h) => h.toLowerCase()),
      subnets: m.destinationSubnets && m.destinationSubnets.length > 0 ? subnetList(m.destinationSubnets) : undefined,
      port: m.port,
    })),
  }));
}

function matchesOne(m: CompiledL4Match, req: L4Request): boolean {
  if (m.port !== undefined && m.port !== req.destinationPort) return false;
  if (m.subnets) {
    const family = isIP(req.destinationAddress);
    if (family === 0 || !m.subnets.check(req.destinationAddress, family === 6 ? 'ipv6' : 'ipv4')) return false;
  }
  if (m.sniHosts) {
    if (req.sni === undefined) return false;
    const sni = req.sni.toLowerCase();
    if (!m.sniHosts.some((h) => hostMatches(h, sni))) return false;
  }
  return true;
}

export function matchL4Route(routes: readonly CompiledL4Route[], req: L4Request): CompiledL4Route | undefined {
  for (const r of routes) {
    if (r.matches.length === 0) return r;
    for (const m of r.matches) if (matchesOne(m, req)) return r;
  }
  return undefined;
}
