/**
 * Where a captured HTTP request is headed. The app dialled a service's virtual address (or any address) and wrote
 * an origin-form request; its Host names the service, and the port the app dialled is the service port when the
 * Host leaves it out (a client omits the default port: `Host: httpbin` for http://httpbin/ is port 80 only if it
 * dialled 80). A Host that is a service VIP, or no Host at all, is named by the VIP table.
 */
import { parseAuthority } from '../http/authority.js';
import type { OriginalDst } from './original-dst.js';

/** VIP → service host (name.namespace.svc.<domain>), from WEFT_SERVICE_VIPS. */
export type ServiceVips = ReadonlyMap<string, string>;

export function capturedAuthority(hostHeader: string | undefined, dst: OriginalDst, vips: ServiceVips): string | undefined {
  if (hostHeader === undefined || hostHeader === '') {
    const service = vips.get(dst.address);
    return service === undefined ? undefined : `${service}:${dst.port}`;
  }
  const a = parseAuthority(hostHeader);
  if (!a) return hostHeader;
  return `${vips.get(a.host) ?? a.host}:${a.port ?? dst.port}`;
}

/** `198.19.7.1=httpbin.default.svc.cluster.local,...`; malformed pairs are skipped. */
export function parseServiceVips(text: string): Map<string, string> {
  const vips = new Map<string, string>();
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) continue;
    vips.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim().toLowerCase());
  }
  return vips;
}
