/**
 * ServiceEntries → `outbound.externals`: the entries exported to the proxy's namespace, narrowed to the hosts and
 * ports its Sidecar imports, each with the DNS answers its pod's DNS proxy gives for them.
 */
import type { ExternalPort, ExternalService } from '../../proxyconfig/types.js';
import { isExportedTo } from '../registry/index.js';
import type { RegistryServiceEntry } from '../registry/index.js';
import { givenDnsAddress, isWildcardHost } from '../registry/service-entries.js';
import type { MeshSnapshot } from './snapshot.js';
import { portsAllowed } from './sidecar-scope.js';
import type { EgressScope, PortFilter } from './sidecar-scope.js';
import { snapshotVips } from './service-vips.js';
import { destinationRuleFor, policyForPort } from './destination-rule.js';
import type { ClientProxy } from './destination-rule.js';
import { compileTrafficPolicy } from './cluster-policy.js';
import { withClientCredential } from './client-credential.js';

/** The proxy the externals are compiled for; a gateway applies `credentialName` whatever the rule's selector. */
export type ExternalsClient = ClientProxy & { gateway?: boolean };

function filterKey(f: PortFilter): string {
  return f === 'all' ? '*' : [...f].sort((a, b) => a - b).join(',');
}

/**
 * The DNS answers for an entry's exact hosts: the entry's own first IP, else (STATIC, DNS) the host's VIP. With
 * NONE the app's own resolver must find the real address, so there is no answer (Istio allocates none either).
 */
function dnsAnswers(entry: RegistryServiceEntry, hosts: readonly string[], vips: ReadonlyMap<string, string>): ExternalService['dns'] {
  const given = givenDnsAddress(entry);
  return hosts.flatMap((host) => {
    if (isWildcardHost(host)) return [];
    const address = given ?? (entry.resolution === 'NONE' ? undefined : vips.get(host));
    return address === undefined ? [] : [{ host, address }];
  });
}

/**
 * Istio turns each host of a ServiceEntry into a service of its own, so a Sidecar can import some hosts of an
 * entry and not others, and on different ports. Hosts imported with the same ports stay one external; hosts
 * imported on different ports become one external each group, so a port is never reachable on a host that did
 * not import it.
 */
function visibleParts(entry: RegistryServiceEntry, scope: EgressScope): { hosts: string[]; filter: PortFilter }[] {
  const groups = new Map<string, { hosts: string[]; filter: PortFilter }>();
  for (const host of entry.hosts) {
    const filter = scope.visible(entry.namespace, host);
    if (filter === undefined) continue;
    const key = filterKey(filter);
    const group = groups.get(key);
    if (group) group.hosts.push(host);
    else groups.set(key, { hosts: [host], filter });
  }
  return [...groups.values()];
}

/**
 * What a DestinationRule says about an entry's host and port: its connection pool, the `tls` that makes this
 * proxy originate TLS there (SIMPLE or MUTUAL), and per host its `proxyProtocol` and `tunnel`, by
 * Istio's lookup from the client and Istio's port-level merge, with `credentialName` resolved where Istio applies it
 * (client-credential.ts). ISTIO_MUTUAL means nothing outside the mesh and
 * DISABLE is what a ServiceEntry port gets anyway, so neither is carried.
 */
function rulePolicies(
  snap: MeshSnapshot,
  client: ExternalsClient,
  entry: RegistryServiceEntry,
  hosts: readonly string[],
  ports: readonly ExternalPort[],
): Pick<ExternalService, 'origination' | 'connectionPools' | 'proxyProtocol' | 'tunnels'> {
  const origination: NonNullable<ExternalService['origination']> = [];
  const connectionPools: NonNullable<ExternalService['connectionPools']> = [];
  const proxyProtocol: NonNullable<ExternalService['proxyProtocol']> = [];
  const tunnels: NonNullable<ExternalService['tunnels']> = [];
  for (const host of hosts) {
    const rule = destinationRuleFor(snap, client, { host, namespace: entry.namespace });
    if (rule === undefined) continue;
    // Neither has a port-level form in Istio's API: the rule's top level holds for every port.
    const top = compileTrafficPolicy(policyForPort(rule.trafficPolicy, undefined, 0));
    if (top.proxyProtocol !== null) proxyProtocol.push({ host, version: top.proxyProtocol });
    if (top.tunnel !== null) tunnels.push({ host, tunnel: top.tunnel });
    for (const p of ports) {
      const policy = compileTrafficPolicy(policyForPort(rule.trafficPolicy, undefined, p.port));
      // Istio applies a rule's connection pool to a ServiceEntry's cluster as to a service's.
      connectionPools.push({ host, port: p.port, connectionPool: policy.connectionPool });
      const tls = policy.tls;
      if (tls === null || (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL')) continue;
      const user = { namespace: client.namespace, gateway: client.gateway === true, workloadSelected: rule.workloadSelected };
      origination.push({ host, port: p.port, tls: withClientCredential(tls, snap.secrets, user) });
    }
  }
  return {
    ...(origination.length > 0 && { origination }),
    ...(connectionPools.length > 0 && { connectionPools }),
    ...(proxyProtocol.length > 0 && { proxyProtocol }),
    ...(tunnels.length > 0 && { tunnels }),
  };
}

export function compileExternals(snap: MeshSnapshot, client: ExternalsClient, scope: EgressScope): ExternalService[] {
  const fromNamespace = client.namespace;
  const vips = snapshotVips(snap);
  const entries = snap.registry.serviceEntries
    .filter((e) => isExportedTo(e.exportTo, e.namespace, fromNamespace))
    .sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.namespace < b.namespace ? -1 : 1));
  return entries.flatMap((entry) =>
    visibleParts(entry, scope).flatMap(({ hosts, filter }) => {
      const ports = portsAllowed(entry.ports, filter);
      if (ports === undefined) return [];
      const policies = rulePolicies(snap, client, entry, hosts, ports);
      return [
        {
          source: `${entry.namespace}/${entry.name}`,
          namespace: entry.namespace,
          hosts,
          addresses: entry.addresses,
          dns: dnsAnswers(entry, hosts, vips),
          ports,
          location: entry.location,
          resolution: entry.resolution,
          endpoints: entry.endpoints,
          ...policies,
        },
      ];
    }),
  );
}
