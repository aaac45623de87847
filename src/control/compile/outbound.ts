/**
 * The outbound section of one proxy: the mesh services and ServiceEntries it can reach (exported to its namespace,
 * imported by its Sidecar), with the names and VIPs they answer to, and what happens to anything else. The result
 * depends only on the proxy's namespace and the Sidecar applied to it, so it is compiled once per such pair per
 * snapshot and shared; a service's ports and endpoints do not depend on the caller at all and are built once.
 */
import type { OutboundService, ProxyConfig } from '../../proxyconfig/types.js';
import { SIDECAR_INBOUND_PORT } from '../../proxyconfig/types.js';
import type { RegistryService, RegistryWorkload } from '../registry/index.js';
import { isExportedTo, targetPortOn, workloadsOf } from '../registry/index.js';
import { modeForPort, peerAuthnOf } from './peer-authentication.js';
import { createHash, hash } from 'node:crypto';
import { jsonOf, labelSetKey, lazySharedSection, perEpoch, perSnapshot } from './snapshot-memo.js';
import { sameItems } from './policy-epoch.js';
import { localityOf } from '../../proxyconfig/locality.js';
import type { TrafficPolicy } from '../../config/kinds/traffic-policy.js';
import { clientLabelsMatter, hasMeshVirtualServices, withTraffic } from './sidecar-routes.js';
import type { SharedSection } from './snapshot-memo.js';
import type { MeshSnapshot } from './snapshot.js';
import { egressScope, portsAllowed, trafficPolicyFor } from './sidecar-scope.js';
import type { AppliedSidecar, EgressScope } from './sidecar-scope.js';
import { compileExternals } from './external-services.js';
import { compileExternalRoutes, egressGatewayHosts } from './external-routes.js';
import { snapshotVips } from './service-vips.js';

/** Who the outbound section is for: routes bound to the mesh apply to sidecars, never to gateways. */
export interface OutboundClient {
  namespace: string;
  labels: Record<string, string>;
  meshRoutes: boolean;
  /** A gateway: DestinationRule `credentialName` applies to it (client-credential.ts). */
  gateway?: boolean;
}

/** Kubernetes DNS search order: a short name means the caller's namespace. */
export function serviceAliases(svc: RegistryService, fromNamespace: string): string[] {
  const { name, namespace, host } = svc;
  const qualified = [`${name}.${namespace}`, `${name}.${namespace}.svc`, host];
  return namespace === fromNamespace ? [name, ...qualified] : qualified;
}

type OutboundPort = OutboundService['ports'][number];

/** The label keys any DestinationRule's `failoverPriority` names (`key` or `key=value`): what endpoints must carry. */
function failoverPriorityLabels(snap: MeshSnapshot): readonly string[] {
  const keys = new Set<string>();
  const visit = (p: TrafficPolicy | undefined): void => {
    for (const entry of p?.loadBalancer?.localityLbSetting?.failoverPriority ?? []) keys.add(entry.split('=')[0]!);
    for (const pl of p?.portLevelSettings ?? []) for (const entry of pl.loadBalancer?.localityLbSetting?.failoverPriority ?? []) keys.add(entry.split('=')[0]!);
  };
  for (const dr of snap.destinationRules) {
    visit(dr.spec.trafficPolicy);
    for (const s of dr.spec.subsets ?? []) visit(s.trafficPolicy);
  }
  return [...keys].sort();
}

/** An endpoint's locality, and the labels failoverPriority compares, when there are any. */
function placementOf(labels: Readonly<Record<string, string>>, priorityLabels: readonly string[]): { locality?: string; labels?: Record<string, string> } {
  const locality = localityOf(labels);
  const named: Record<string, string> = {};
  for (const k of priorityLabels) if (labels[k] !== undefined) named[k] = labels[k];
  return { ...(locality !== undefined && { locality }), ...(Object.keys(named).length > 0 && { labels: named }) };
}

interface KnownPorts {
  /** The ready workloads the ports were built from. */
  backends: readonly RegistryWorkload[];
  ports: OutboundPort[];
}

/**
 * Every service's ports with their ready endpoints, in registry order. A service whose own object and ready
 * workloads are those of an earlier snapshot of the policy epoch keeps its ports from then: the same objects, so
 * its outbound entries and their JSON carry over too.
 */
function servicePorts(snap: MeshSnapshot): ReadonlyMap<RegistryService, OutboundPort[]> {
  return perSnapshot(snap, 'outbound-ports', () => {
    const { registry, mesh } = snap;
    const known = perEpoch(snap, 'outbound-ports', () => new WeakMap<RegistryService, KnownPorts>());
    const out = new Map<RegistryService, OutboundPort[]>();
    let priorityLabels: readonly string[] | undefined;
    for (const svc of registry.services) {
      const backends = workloadsOf(registry, svc).filter((w) => w.ready);
      const held = known.get(svc);
      if (held !== undefined && sameItems(held.backends, backends)) {
        out.set(svc, held.ports);
        continue;
      }
      priorityLabels ??= failoverPriorityLabels(snap);
      const labels = priorityLabels;
      const ports = svc.ports.map((p) => ({
        port: p.port,
        name: p.name,
        protocol: p.protocol,
        endpoints: backends.flatMap((w) => {
          const targetPort = targetPortOn(w, p);
          if (targetPort === undefined || w.podIP === undefined) return [];
          return [
            {
              address: w.podIP,
              // A pod without a sidecar (an egress gateway) serves its ports itself; auto mTLS leaves it plaintext.
              inboundPort: w.sidecar ? SIDECAR_INBOUND_PORT : targetPort,
              targetPort,
              spiffeId: `spiffe://${mesh.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`,
              mtls: w.sidecar && modeForPort(peerAuthnOf(snap, w), targetPort) !== 'DISABLE',
              workload: `${w.namespace}/${w.name}`,
              ...placementOf(w.labels, labels),
            },
          ];
        }),
      }));
      known.set(svc, { backends, ports });
      out.set(svc, ports);
    }
    return out;
  });
}

/** The registry's services whose host is one of `hosts`, in registry order. */
function servicesByHost(snap: MeshSnapshot, hosts: ReadonlySet<string>): RegistryService[] {
  const index = perSnapshot(snap, 'services-by-host', () => {
    const out = new Map<string, number[]>();
    snap.registry.services.forEach((svc, i) => {
      const key = svc.host.toLowerCase();
      const list = out.get(key);
      if (list) list.push(i);
      else out.set(key, [i]);
    });
    return out;
  });
  // Asked once per outbound section per snapshot (a thousand times with a Sidecar per workload): plain loops.
  const found: number[] = [];
  for (const h of hosts) for (const i of index.get(h) ?? []) found.push(i);
  found.sort((a, b) => a - b);
  const out: RegistryService[] = [];
  for (let k = 0; k < found.length; k++) if (k === 0 || found[k] !== found[k - 1]) out.push(snap.registry.services[found[k] as number] as RegistryService);
  return out;
}

/**
 * The outbound section as seen from one namespace through one Sidecar (none for gateways and for sidecars no
 * Sidecar applies to): the same object for every proxy that shares the pair.
 */
export function outboundSection(snap: MeshSnapshot, client: OutboundClient, sidecar?: AppliedSidecar): SharedSection<ProxyConfig['outbound']> {
  const fromNamespace = client.namespace;
  // Labels change a config only through sourceLabels and workloadSelector; without those, a namespace shares one.
  const labels = clientLabelsMatter(snap) ? labelSetKey(client.labels) : null;
  // Sidecars and gateways differ only when some VirtualService binds to the mesh.
  const meshRoutes = client.meshRoutes && hasMeshVirtualServices(snap);
  // Secret material a gateway originates with must not reach a sidecar sharing its namespace's section.
  const gateway = client.gateway === true && usesClientCredentials(snap);
  const key = `outbound:${JSON.stringify([fromNamespace, sidecar === undefined ? null : `${sidecar.namespace}/${sidecar.name}`, meshRoutes, labels, ...(gateway ? ['gateway'] : [])])}`;
  return perSnapshot(snap, key, () => {
    const ports = servicePorts(snap);
    const vips = snapshotVips(snap);
    const scope = sidecar === undefined ? egressScope(undefined, fromNamespace) : epochScope(snap, sidecar, fromNamespace);
    // A Sidecar that names its hosts exactly: only those can be imported, so the rest of the mesh is not scanned.
    const exact = scope.exactHosts;
    const candidates = exact === undefined ? snap.registry.services : servicesByHost(snap, exact);
    // A service seen with all its ports is the same entry in every section of this namespace and client: with a
    // Sidecar per workload, a thousand sections share each service's entry and its JSON instead of building them.
    const entries = wholeEntries(snap, `${fromNamespace}\n${meshRoutes}\n${labels ?? ''}\n${gateway}`, meshRoutes);
    const services = candidates.flatMap((svc) => {
      if (!isExportedTo(svc.exportTo, svc.namespace, fromNamespace)) return [];
      const filter = scope.visible(svc.namespace, svc.host);
      const all = ports.get(svc) ?? [];
      const vip = vips.get(svc.host);
      if (filter === 'all') {
        const known = entries.get(svc);
        if (known !== undefined && known.ports === all && known.vip === vip) return known.entry;
      }
      const kept = filter === undefined ? undefined : portsAllowed(all, filter);
      if (kept === undefined) return [];
      const traffic = kept.map((p) => withTraffic(snap, client, svc, p, meshRoutes));
      // Untouched ports stay the shared objects every namespace sees.
      const routed = traffic.every((p, i) => p === kept[i]) ? kept : traffic;
      const entry: OutboundService = { host: svc.host, namespace: svc.namespace, aliases: serviceAliases(svc, fromNamespace), ports: routed, addresses: vip === undefined ? [] : [vip] };
      if (filter === 'all') entries.set(svc, { ports: all, vip, entry: [entry] });
      return [entry];
    });
    const externals = compileExternals(snap, client, scope);
    const externalRoutes = meshRoutes ? compileExternalRoutes(snap, client, externals, scope) : [];
    // Gateways are exits themselves; every sidecar refuses the direct path to a host routed through one.
    const gatewayOnly = meshRoutes ? egressGatewayHosts(snap) : [];
    const value = {
      services,
      externals,
      trafficPolicy: trafficPolicyFor(snap, sidecar),
      ...(externalRoutes.length > 0 && { externalRoutes }),
      ...(gatewayOnly.length > 0 && { egressGatewayHosts: gatewayOnly }),
    };
    // Written as JSON.stringify(value) writes it, each service's text taken from the entry it shares.
    const optional = `${externalRoutes.length > 0 ? `,"externalRoutes":${JSON.stringify(externalRoutes)}` : ''}${gatewayOnly.length > 0 ? `,"egressGatewayHosts":${JSON.stringify(gatewayOnly)}` : ''}`;
    const rest = `],"externals":${JSON.stringify(externals)},"trafficPolicy":${JSON.stringify(value.trafficPolicy)}${optional}}`;
    // The same entries and the same rest as this section had in an earlier snapshot of the epoch: the same section,
    // so nothing is joined or hashed again, and a proxy's delta finds it unchanged by identity.
    const last = perEpoch(snap, `outbound-section:${key}`, (): { held?: KnownSection } => ({}));
    const held = last.held;
    if (held !== undefined && held.rest === rest && sameItems(held.services, services)) return held.section;
    const section = lazySharedSection<ProxyConfig['outbound']>(value, outboundHash(services, rest), () => `{"services":[${services.map(jsonOf).join(',')}${rest}`);
    last.held = { services, rest, section };
    return section;
  });
}

/** sha256 of each service entry's JSON, hex: entries are shared by every section that sees the service whole. */
const entryHashes = new WeakMap<OutboundService, string>();

function entryHash(entry: OutboundService): string {
  let h = entryHashes.get(entry);
  if (h === undefined) {
    h = hash('sha256', jsonOf(entry), 'hex');
    entryHashes.set(entry, h);
  }
  return h;
}

/**
 * An outbound section's hash, from its services' hashes (64 hex digits each, so the list reads back one way) and
 * the text after them: it binds the section's JSON as a hash of the JSON would, while a section whose services
 * are shared costs a few hundred bytes to hash, not its whole text.
 */
function outboundHash(services: readonly OutboundService[], rest: string): string {
  const h = createHash('sha256').update('weft-outbound-v1\n');
  for (const s of services) h.update(entryHash(s));
  return h.update('\n').update(rest).digest('hex');
}

interface KnownSection {
  services: readonly OutboundService[];
  /** The section's JSON after its services. */
  rest: string;
  section: SharedSection<ProxyConfig['outbound']>;
}

/**
 * A Sidecar is policy: what it imports for a namespace is worked out once per epoch, and each host asked of it once
 * (every snapshot asks again for each of its hosts).
 */
function epochScope(snap: MeshSnapshot, sidecar: AppliedSidecar, fromNamespace: string): EgressScope {
  return perEpoch(snap, `egress-scope:${JSON.stringify([sidecar.namespace, sidecar.name, fromNamespace])}`, () => {
    const scope = egressScope(sidecar, fromNamespace);
    const seen = new Map<string, ReturnType<EgressScope['visible']>>();
    return {
      ...(scope.exactHosts === undefined ? {} : { exactHosts: scope.exactHosts }),
      visible(namespace, host) {
        const key = `${namespace}\n${host}`;
        if (seen.has(key)) return seen.get(key);
        const v = scope.visible(namespace, host);
        seen.set(key, v);
        return v;
      },
    };
  });
}

/** True when some DestinationRule names a `credentialName` (top level, port level or in a subset). */
function usesClientCredentials(snap: MeshSnapshot): boolean {
  return perSnapshot(snap, 'uses-client-credentials', () =>
    snap.destinationRules.some((dr) => {
      const policies = [dr.spec.trafficPolicy, ...(dr.spec.subsets ?? []).map((s) => s.trafficPolicy)];
      return policies.some((p) => p?.tls?.credentialName !== undefined || (p?.portLevelSettings ?? []).some((l) => l.tls?.credentialName !== undefined));
    }),
  );
}

interface KnownEntry {
  /** The service's ports (servicePorts) and VIP the entry was built from. */
  ports: OutboundPort[];
  vip: string | undefined;
  entry: [OutboundService];
}

/**
 * Entries of services seen with all their ports, per client (namespace, mesh routes, labels): an entry stays while
 * its service's ports and VIP are the same objects, across the snapshots of a policy epoch. Not with mesh routes:
 * a route's destination port comes from another service's ports (sidecar-routes.ts routeContext), so an entry
 * with routes is kept for its snapshot only.
 */
function wholeEntries(snap: MeshSnapshot, client: string, meshRoutes: boolean): WeakMap<RegistryService, KnownEntry> {
  const memo = meshRoutes ? perSnapshot : perEpoch;
  return memo(snap, `outbound-whole-entries:${client}`, () => new WeakMap<RegistryService, KnownEntry>());
}

/** The services a namespace sees without a Sidecar: what the control plane itself may call from the root namespace. */
export function compileOutbound(snap: MeshSnapshot, fromNamespace: string): OutboundService[] {
  return outboundSection(snap, { namespace: fromNamespace, labels: {}, meshRoutes: true }).value.services;
}
