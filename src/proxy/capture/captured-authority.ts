/**
 * Where a captured HTTP request is headed. The app dialled a service's virtual address (or any address) and wrote
 * an origin-form request; its Host names the service, and the port the app dialled is the service port when the
 * Host leaves it out (a client omits the default port: `Host: httpbin` for http://httpbin/ is port 80 only if it
 * dialled 80). A Host that is a service's virtual address, or no Host at all, is named by the address.
 */
import { parseAuthority } from '../http/authority.js';
import type { OriginalDst } from './original-dst.js';

/** Service virtual address → service host (name.namespace.svc.<domain>), from the config's service addresses. */
export type ServiceAtAddress = (address: string) => string | undefined;

export function capturedAuthority(hostHeader: string | undefined, dst: OriginalDst, serviceAt: ServiceAtAddress): string | undefined {
  if (hostHeader === undefined || hostHeader === '') {
    const service = serviceAt(dst.address);
    return `${service ?? hostOf(dst.address)}:${dst.port}`;
  }
  const a = parseAuthority(hostHeader);
  if (!a) return hostHeader;
  return `${serviceAt(a.host) ?? hostOf(a.host)}:${a.port ?? dst.port}`;
}

function hostOf(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
