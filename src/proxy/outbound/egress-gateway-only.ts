/**
 * The egress gateway as the only exit (weft beyond Istio, istio/istio#43065): a ServiceEntry host that some
 * VirtualService bound to the mesh routes to an egress gateway is never dialled by a sidecar itself, whether the app
 * names it by Host, by SNI or dials its address, and whether or not this sidecar sees that VirtualService. Only a
 * route to the gateway's service leaves. The refusal is an egress decision `denied` (weft_egress_total,
 * weft_egress_denied_total) logged with Envoy's `NR` (no route: this proxy has no way out for the host).
 *
 * A connection that names nothing (opaque TCP, TLS without SNI, or HTTP whose Host is no entry's) is refused by the
 * address it dialled when that address is one the proxy can attribute to a gateway-only host: its entry's
 * `addresses`, the address the pod's DNS proxy answers for the host, or the entry's endpoints. An address the app
 * found some other way (its own resolver's answer for the real host) cannot be attributed and leaves by the traffic
 * policy (docs/edge.md).
 */
import net from 'node:net';
import type { CompiledProxyConfig } from '../config/compiled-config.js';
import type { ExternalRoute } from '../config/compiled-externals.js';
import type { ExternalService } from '../../proxyconfig/types.js';

export const GATEWAY_ONLY_FLAG = 'NR';

const refusalFor = (host: string): string => `egress denied: ${host} leaves the mesh only through the egress gateway`;

/**
 * Why this sidecar may not dial `host` itself (a Host or an SNI), or, for a connection matched by the address it
 * dialled alone, the entry `route` it matched; undefined: it may.
 */
export function gatewayOnlyRefusal(cfg: CompiledProxyConfig, host: string | undefined, route: ExternalRoute | undefined): string | undefined {
  if (cfg.egressGatewayHosts.size === 0) return undefined;
  const named = host !== undefined ? (cfg.egressGatewayHosts.has(host) ? host : undefined) : route?.entry.hosts.find((h) => cfg.egressGatewayHosts.has(h));
  return named === undefined ? undefined : refusalFor(named);
}

/** The addresses of gateway-only hosts, each with the host it is refused for. */
class GatewayOnlyAddresses {
  /** In the order added: the first block holding an address names the host. */
  readonly #blocks: Array<{ block: net.BlockList; host: string }> = [];
  readonly empty: boolean;

  constructor(externals: readonly ExternalService[], gatewayOnly: ReadonlySet<string>) {
    for (const e of externals) {
      const host = e.hosts.find((h) => gatewayOnly.has(h));
      if (host === undefined) continue;
      const block = new net.BlockList();
      let added = false;
      // The entry's own addresses (IPs, CIDRs) and its endpoints' IPs (STATIC) belong to every host of the entry.
      for (const a of [...e.addresses, ...e.endpoints.map((ep) => ep.address)]) added = addTo(block, a) || added;
      for (const d of e.dns) if (gatewayOnly.has(d.host)) added = addTo(block, d.address) || added;
      if (added) this.#blocks.push({ block, host });
    }
    this.empty = this.#blocks.length === 0;
  }

  hostAt(address: string): string | undefined {
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    if (family === undefined) return undefined;
    for (const b of this.#blocks) if (b.block.check(address, family)) return b.host;
    return undefined;
  }
}

/** An IP or CIDR into the block; anything else (a DNS endpoint's name) is not an address and is skipped. */
function addTo(block: net.BlockList, a: string): boolean {
  const slash = a.indexOf('/');
  const ip = slash < 0 ? a : a.slice(0, slash);
  const family = net.isIPv6(ip) ? 'ipv6' : net.isIPv4(ip) ? 'ipv4' : undefined;
  if (family === undefined) return false;
  if (slash < 0) {
    block.addAddress(ip, family);
    return true;
  }
  const prefix = Number(a.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) return false;
  block.addSubnet(ip, prefix, family);
  return true;
}

/** Built once per config (the config is immutable), on the first connection that needs it. */
const byConfig = new WeakMap<CompiledProxyConfig, GatewayOnlyAddresses>();

/** Why a connection that names no host may not go to the address it dialled; undefined: it may. */
export function gatewayOnlyAddressRefusal(cfg: CompiledProxyConfig, address: string): string | undefined {
  if (cfg.egressGatewayHosts.size === 0) return undefined;
  let addresses = byConfig.get(cfg);
  if (addresses === undefined) {
    addresses = new GatewayOnlyAddresses(cfg.raw.outbound.externals, cfg.egressGatewayHosts);
    byConfig.set(cfg, addresses);
  }
  if (addresses.empty) return undefined;
  const host = addresses.hostAt(address);
  return host === undefined ? undefined : refusalFor(host);
}
