/** The request headers an exchange sends upstream, as a flat [name, value, ...] list (undici's cheapest form). */
import { HOP_BY_HOP, upstreamHeaderList } from '../http/forward.js';
import type { HeaderBag } from '../../route/header-operations.js';
import type { Exchange } from './exchange.js';

/** A copy of received headers without hop-by-hop ones, Host or HTTP/2 pseudo-headers, for header operations to edit. */
export function dropHopByHop(headers: Readonly<HeaderBag>): HeaderBag {
  const connection = headers['connection'];
  const listed = typeof connection === 'string' ? new Set(connection.split(',').map((t) => t.trim().toLowerCase())) : undefined;
  const out: HeaderBag = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name === 'host' || name.charCodeAt(0) === 58 /* : */ || listed?.has(name) === true) continue;
    out[name] = headers[name];
  }
  return out;
}

export function headersForUpstream(ex: Exchange): string[] {
  const bag = ex.upstreamHeaders;
  if (bag === undefined) return upstreamHeaderList(ex.rawHeaders, ex.headers['connection'], ex.upstreamAuthority, ex.extraHeaders, ex.removeHeaders);
  const out: string[] = [];
  for (const name in bag) {
    if (ex.removeHeaders?.has(name) === true) continue;
    const v = bag[name];
    if (Array.isArray(v)) for (const one of v) out.push(name, one);
    else if (v !== undefined) out.push(name, v);
  }
  out.push('host', ex.upstreamAuthority);
  for (const v of ex.extraHeaders) out.push(v);
  return out;
}
