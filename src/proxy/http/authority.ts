import { isIPv6 } from 'node:net';

/** Split an HTTP authority (`host`, `host:port`, `[v6]:port`) into a lower-case host and a port. */
export interface Authority {
  host: string;
  port: number | undefined;
}

export function parseAuthority(authority: string): Authority | undefined {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return undefined;
    host = authority.slice(1, end);
    // Brackets hold an IPv6 literal and nothing else (RFC 3986 §3.2.2).
    if (!isIPv6(host)) return undefined;
    const rest = authority.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
    // An IPv6 literal without brackets (`::1`) would otherwise split into a host of colons and a port.
    if (host.includes(':')) return undefined;
  }
  // One trailing dot is the absolute form of a name (`example.com.`); anything that is only dots is no name.
  if (host.endsWith('.')) host = host.slice(0, -1);
  // Brackets only ever delimit an IPv6 literal (RFC 3986 §3.2.2), read above; in a name they are refused.
  if (host === '' || host.endsWith('.') || /[\s/?#@[\]]/.test(host)) return undefined;
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  return { host: host.toLowerCase(), port };
}

/** The authority and origin-form path of a request, whether it came as a proxy request (absolute-form) or not. */
export function requestTarget(url: string, hostHeader: string | undefined): { authority: string; path: string } | undefined {
  if (url.startsWith('/')) return hostHeader ? { authority: hostHeader, path: url } : undefined;
  const lower = url.slice(0, 8).toLowerCase();
  const start = lower.startsWith('http://') ? 7 : lower.startsWith('https://') ? 8 : -1;
  if (start < 0) return undefined;
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  const authority = url.slice(start, end);
  if (authority === '') return undefined;
  const rest = url.slice(end);
  return { authority, path: rest.startsWith('/') ? rest : `/${rest}` };
}
