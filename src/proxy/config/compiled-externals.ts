/**
 * ServiceEntries (`outbound.externals`) compiled into the lookups a captured connection or an outbound request
 * needs, as Envoy's listeners see them: HTTP ports by Host, TLS ports by SNI, TCP ports by the address dialled.
 * Host lookups are Istio's: an exact host first, then the longest matching `*.suffix` (which never matches the
 * bare suffix itself). A TCP port of an entry without addresses matches every address on that port, as Istio's
 * 0.0.0.0:<port> listener does; an entry whose addresses (or DNS-proxy addresses) hold the address dialled is
 * preferred to it.
 */
import net from 'node:net';
import type { ClientTlsPolicy, ConnectionPoolPolicy, ExternalPort, ExternalService, PortProtocol, TunnelSettings } from '../../proxyconfig/types.js';
import type { ProxyProtocolVersion } from '../upstream/proxy-protocol.js';
import { FIXED_POOL_SETTINGS, httpPoolSettings } from '../upstream/pool-settings.js';
import type { HttpPoolSettings } from '../upstream/pool-settings.js';

/** A DestinationRule's connection pool for one host of an entry on one port, with the pool settings made from it once. */
export interface ExternalConnectionPool {
  readonly policy: ConnectionPoolPolicy;
  readonly settings: HttpPoolSettings;
}

/** One port of one ServiceEntry: what a matched connection or request is sent through. */
export class ExternalRoute {
  #next = 0;
  /** The entry's host → the TLS this proxy originates to it on this port (DestinationRule SIMPLE/MUTUAL). */
  readonly #origination = new Map<string, ClientTlsPolicy>();
  /** The entry's host → its DestinationRule's connection pool on this port. */
  readonly #connectionPools = new Map<string, ExternalConnectionPool>();
  /** The entry's host → the PROXY header version its connections start with (DestinationRule `proxyProtocol`). */
  readonly #proxyProtocol = new Map<string, ProxyProtocolVersion>();
  /** The entry's host → the HTTP tunnel its opaque connections go through (DestinationRule `tunnel`). */
  readonly #tunnels = new Map<string, TunnelSettings>();

  constructor(
    readonly entry: ExternalService,
    readonly port: ExternalPort,
  ) {
    for (const o of entry.origination ?? []) if (o.port === port.port) this.#origination.set(o.host, o.tls);
    for (const p of entry.proxyProtocol ?? []) this.#proxyProtocol.set(p.host, p.version);
    for (const t of entry.tunnels ?? []) this.#tunnels.set(t.host, t.tunnel);
    for (const c of entry.connectionPools ?? []) {
      if (c.port === port.port) this.#connectionPools.set(c.host, { policy: c.connectionPool, settings: httpPoolSettings(c.connectionPool, this.#proxyProtocol.get(c.host) ?? null) });
    }
  }

  /** The connection pool of the rule for a request to `host`; undefined: no rule, the pools' fixed settings. */
  connectionPoolFor(host: string): ExternalConnectionPool | undefined {
    if (this.#connectionPools.size === 0) return undefined;
    const listed = this.hostFor(host);
    return listed === undefined ? undefined : this.#connectionPools.get(listed);
  }

  /** The HTTP/1.1 pool settings for a request to `host`. */
  poolSettingsFor(host: string): HttpPoolSettings {
    return this.connectionPoolFor(host)?.settings ?? FIXED_POOL_SETTINGS;
  }

  /** The TLS to originate for a request to `host` (as the entry lists it, or one its `*.suffix` covers); undefined: none. */
  originationFor(host: string): ClientTlsPolicy | undefined {
    if (this.#origination.size === 0) return undefined;
    const listed = this.hostFor(host);
    return listed === undefined ? undefined : this.#origination.get(listed);
  }

  /** The PROXY header version for a connection to `host`; undefined: none. */
  proxyProtocolFor(host: string): ProxyProtocolVersion | undefined {
    if (this.#proxyProtocol.size === 0) return undefined;
    const listed = this.hostFor(host);
    return listed === undefined ? undefined : this.#proxyProtocol.get(listed);
  }

  /** The HTTP tunnel an opaque connection to `host` goes through; undefined: none. */
  tunnelFor(host: string): TunnelSettings | undefined {
    if (this.#tunnels.size === 0) return undefined;
    const listed = this.hostFor(host);
    return listed === undefined ? undefined : this.#tunnels.get(listed);
  }

  /** `namespace/name` of the ServiceEntry, for logs. */
  get source(): string {
    return this.entry.source;
  }

  /** The entry's host that `host` matched: itself when listed, else the longest `*.suffix` pattern that covers it. */
  hostFor(host: string): string | undefined {
    let best: string | undefined;
    for (const h of this.entry.hosts) {
      if (h === host) return h;
      if (h.startsWith('*.') && host.length > h.length - 1 && host.endsWith(h.slice(1)) && (best === undefined || h.length > best.length)) best = h;
    }
    return best;
  }

  /**
   * The next endpoint (round robin) as address and port: the endpoint's port by this port's name, else the
   * port's targetPort. Undefined when the entry has no endpoints (NONE, or DNS resolving the host itself).
   */
  pickEndpoint(): { address: string; port: number } | undefined {
    const eps = this.entry.endpoints;
    if (eps.length === 0) return undefined;
    const ep = eps[this.#next % eps.length]!;
    this.#next = (this.#next + 1) % eps.length;
    return { address: ep.address, port: ep.ports[this.port.name] ?? this.port.targetPort };
  }
}

/** Exact hosts and `*.suffix` patterns of one port, searched exact-first then longest suffix first. */
class HostTable {
  readonly #exact = new Map<string, ExternalRoute>();
  #wildcards: Array<{ suffix: string; route: ExternalRoute }> = [];

  add(host: string, route: ExternalRoute): void {
    if (host.startsWith('*.')) this.#wildcards.push({ suffix: host.slice(1), route });
    // The first entry naming a host keeps it, as Istio keeps the oldest ServiceEntry.
    else if (!this.#exact.has(host)) this.#exact.set(host, route);
  }

  seal(): void {
    // Stable sort: equally long suffixes keep config order.
    this.#wildcards = this.#wildcards.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  find(host: string): ExternalRoute | undefined {
    const exact = this.#exact.get(host);
    if (exact) return exact;
    for (const w of this.#wildcards) if (host.length > w.suffix.length && host.endsWith(w.suffix)) return w.route;
    return undefined;
  }
}

class PortTables {
  readonly #byPort = new Map<number, HostTable>();

  add(port: number, host: string, route: ExternalRoute): void {
    let table = this.#byPort.get(port);
    if (!table) this.#byPort.set(port, (table = new HostTable()));
    table.add(host, route);
  }

  seal(): void {
    for (const t of this.#byPort.values()) t.seal();
  }

  find(host: string, port: number): ExternalRoute | undefined {
    return this.#byPort.get(port)?.find(host);
  }
}

interface AddressRoute {
  block: net.BlockList;
  route: ExternalRoute;
}

export type ExternalProtocolClass = 'http' | 'tls' | 'tcp';

export function protocolClass(p: PortProtocol): ExternalProtocolClass {
  switch (p) {
    case 'http':
    case 'http2':
    case 'grpc':
      return 'http';
    case 'tls':
      return 'tls';
    case 'tcp':
      return 'tcp';
    default: {
      const never: never = p;
      return never;
    }
  }
}

export class CompiledExternals {
  readonly #http = new PortTables();
  readonly #tls = new PortTables();
  /** TCP and TLS ports by host, for CONNECT host:port (http_proxy mode names a host, not an address). */
  readonly #opaqueByHost = new PortTables();
  readonly #tcpByAddress = new Map<number, AddressRoute[]>();
  readonly #tcpAnyAddress = new Map<number, ExternalRoute>();

  constructor(externals: readonly ExternalService[]) {
    for (const entry of externals) {
      // The addresses the DNS proxy hands out for the entry's hosts are dialled like its own addresses.
      const dialled = [...entry.addresses, ...entry.dns.map((d) => d.address)];
      const block = dialled.length > 0 ? blockListOf(dialled) : undefined;
      for (const port of entry.ports) {
        const route = new ExternalRoute(entry, port);
        const cls = protocolClass(port.protocol);
        for (const host of entry.hosts) {
          const h = host.toLowerCase();
          if (cls === 'http') this.#http.add(port.port, h, route);
          else this.#opaqueByHost.add(port.port, h, route);
          if (cls === 'tls') this.#tls.add(port.port, h, route);
        }
        if (cls !== 'tcp') continue;
        if (block) {
          const list = this.#tcpByAddress.get(port.port) ?? [];
          list.push({ block, route });
          this.#tcpByAddress.set(port.port, list);
        }
        if (entry.addresses.length === 0 && !this.#tcpAnyAddress.has(port.port)) this.#tcpAnyAddress.set(port.port, route);
      }
    }
    this.#http.seal();
    this.#tls.seal();
    this.#opaqueByHost.seal();
  }

  /** An HTTP request by its Host (lower case, no port) and the port it was sent to. */
  http(host: string, port: number): ExternalRoute | undefined {
    return this.#http.find(host, port);
  }

  /** A TLS connection by the SNI of its ClientHello; no SNI matches nothing. */
  tls(sni: string | undefined, port: number): ExternalRoute | undefined {
    return sni === undefined || sni === '' ? undefined : this.#tls.find(sni.toLowerCase(), port);
  }

  /** An opaque TCP connection by the address the app dialled. */
  tcp(address: string, port: number): ExternalRoute | undefined {
    const family = net.isIPv6(address) ? 'ipv6' : net.isIPv4(address) ? 'ipv4' : undefined;
    if (family) {
      for (const r of this.#tcpByAddress.get(port) ?? []) if (r.block.check(address, family)) return r.route;
    }
    return this.#tcpAnyAddress.get(port);
  }

  /**
   * A route's HTTP request for a TLS or TCP port of an entry naming the host, when a DestinationRule originates TLS
   * there (Istio's egress gateway task routes to edition.cnn.com:443, an HTTPS port, and the rule's SIMPLE makes the
   * gateway speak TLS to it). Without origination such a port is not an HTTP destination: undefined.
   */
  originatedHttp(host: string, port: number): ExternalRoute | undefined {
    const route = this.#opaqueByHost.find(host, port);
    return route?.originationFor(host) === undefined ? undefined : route;
  }

  /** CONNECT host:port: a TLS or TCP port of an entry naming the host. */
  opaqueByHost(host: string, port: number): ExternalRoute | undefined {
    return this.#opaqueByHost.find(host, port);
  }
}

/** IPs and CIDRs; entries that are neither are skipped (the control plane validated them). */
function blockListOf(addresses: readonly string[]): net.BlockList {
  const block = new net.BlockList();
  for (const a of addresses) {
    const slash = a.indexOf('/');
    const ip = slash < 0 ? a : a.slice(0, slash);
    const family = net.isIPv6(ip) ? 'ipv6' : net.isIPv4(ip) ? 'ipv4' : undefined;
    if (!family) continue;
    if (slash < 0) {
      block.addAddress(ip, family);
      continue;
    }
    const prefix = Number(a.slice(slash + 1));
    if (Number.isInteger(prefix) && prefix >= 0 && prefix <= (family === 'ipv4' ? 32 : 128)) block.addSubnet(ip, prefix, family);
  }
  return block;
}
