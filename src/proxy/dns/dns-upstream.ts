/** Upstream DNS servers (WEFT_DNS_UPSTREAM): `ip`, `ip:port` or `[v6]:port`, comma separated; port 53 by default. */
import net from 'node:net';
import { WeftError } from '../../errors.js';

export interface DnsServer {
  address: string;
  port: number;
}

export function parseDnsUpstream(text: string): DnsServer[] {
  const out: DnsServer[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    if (item === '') continue;
    const server = parseOne(item);
    if (!server) throw new WeftError('BAD_REQUEST', `WEFT_DNS_UPSTREAM: "${item}" is not ip, ip:port or [v6]:port`);
    out.push(server);
  }
  return out;
}

function parseOne(item: string): DnsServer | undefined {
  let address = item;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(item);
  if (v6) {
    address = v6[1]!;
    portText = v6[2];
  } else if (net.isIPv4(item.split(':')[0] ?? '') && item.includes(':')) {
    [address, portText] = item.split(':') as [string, string];
  }
  if (net.isIP(address) === 0) return undefined;
  const port = portText === undefined ? 53 : Number(portText);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? { address, port } : undefined;
}

/** The form `Resolver.setServers` takes. */
export function resolverServerName(s: DnsServer): string {
  return net.isIPv6(s.address) ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}
