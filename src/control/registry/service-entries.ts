/**
 * ServiceEntries as registry data: Istio's spec with its defaults filled in and its protocols in the mesh's terms.
 * Pure: what a proxy may see of them (exportTo, Sidecar) is decided at compile time.
 */
import type { Resource } from '../../config/resource.js';
import type { ServiceEntrySpec } from '../../config/kinds/service-entry.js';
import type { ExternalPort, ExternalService } from '../../proxyconfig/types.js';
import { portProtocol } from './port-protocol.js';
import type { ExportTo } from './export-to.js';

export interface RegistryServiceEntry {
  namespace: string;
  name: string;
  /** Lower case, as written otherwise: exact names and `*.suffix` wildcards. */
  hosts: string[];
  /** IPs or CIDRs, as given. */
  addresses: string[];
  ports: ExternalPort[];
  location: ExternalService['location'];
  resolution: ExternalService['resolution'];
  endpoints: ExternalService['endpoints'];
  exportTo: ExportTo;
}

/** Istio's resolution names; DNS_ROUND_ROBIN and DYNAMIC_DNS differ only in how Envoy balances, not in what is reached. */
function resolutionOf(r: ServiceEntrySpec['resolution']): RegistryServiceEntry['resolution'] {
  switch (r) {
    case undefined:
    case 'NONE':
      return 'NONE';
    case 'STATIC':
      return 'STATIC';
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
    case 'DYNAMIC_DNS':
      return 'DNS';
    default: {
      const unknown: never = r;
      return unknown;
    }
  }
}

/**
 * A port's protocol as Istio selects it: the declared protocol (HTTPS is passed through by SNI, so carried as
 * tls), else the port name's prefix. UDP ports are left out: the mesh carries TCP only.
 */
function portsOf(spec: ServiceEntrySpec): ExternalPort[] {
  return (spec.ports ?? [])
    .filter((p) => p.protocol?.toUpperCase() !== 'UDP')
    .map((p) => ({ port: p.number, name: p.name, protocol: portProtocol(p.name, p.protocol), targetPort: p.targetPort ?? p.number }));
}

export function serviceEntryFrom(r: Resource): RegistryServiceEntry {
  const spec = r.spec as ServiceEntrySpec;
  return {
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    hosts: spec.hosts.map((h) => h.toLowerCase()),
    addresses: spec.addresses ?? [],
    ports: portsOf(spec),
    location: spec.location ?? 'MESH_EXTERNAL',
    resolution: resolutionOf(spec.resolution),
    // An endpoint without an address (a WorkloadEntry that only names a network) has nowhere to send to.
    endpoints: (spec.endpoints ?? []).flatMap((e) => (e.address === undefined ? [] : [{ address: e.address, ports: e.ports ?? {} }])),
    exportTo: spec.exportTo,
  };
}

/** An address written without a prefix length: something DNS can answer with. */
export function isPlainIPv4(address: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(address) && address.split('.').every((o) => Number(o) <= 255);
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/** What DNS answers for the entry's hosts when the entry names one: its first plain IP address. */
export function givenDnsAddress(entry: RegistryServiceEntry): string | undefined {
  return entry.addresses.find(isPlainIPv4);
}

/**
 * Hosts that get a virtual address from the service range: Istio allocates only for STATIC and DNS resolution,
 * since with NONE the proxy forwards to the address the app dialled, which must then be the real one.
 */
export function hostsWantingVip(entry: RegistryServiceEntry): string[] {
  if (entry.resolution === 'NONE' || givenDnsAddress(entry) !== undefined) return [];
  return entry.hosts.filter((h) => !isWildcardHost(h));
}
