/**
 * Where a cluster's endpoints stand for this proxy under a DestinationRule's `localityLbSetting`, as Istio writes
 * Envoy's load assignment (ApplyLocalityLoadBalancer), computed once per config:
 * - `enabled: false`, or a proxy without a locality: nothing (every endpoint equal).
 * - `distribute`: the first entry whose `from` covers the proxy's locality gives each endpoint locality a weight:
 *   each `to` pattern's weight, shared among the localities it covers by their endpoint counts; localities no
 *   pattern covers get no traffic. One priority.
 * - otherwise, only with outlier detection (Istio's rule: without it nothing would ever move traffic away),
 *   priorities: 0 for the proxy's region/zone/subzone, 1 its region and zone, 2 its region, 3 the region a
 *   `failover` entry names for the proxy's region, 4 the rest (so with no `failover` and no localities this is
 *   all priority 0). `failoverPriority` orders by labels instead: all labels equal to the proxy's (or to
 *   `label=value`; the topology labels read as the locality's parts) first, then all but the last, and so on;
 *   beside `failover`, within each locality priority. Empty priorities are closed up.
 */
import type { Endpoint, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { REGION_LABEL, SUBZONE_LABEL, ZONE_LABEL, localityMatches, localityOf, parseLocality } from '../../proxyconfig/locality.js';
import type { Locality } from '../../proxyconfig/locality.js';

/** Endpoints with the same priority and locality weight, balanced among themselves. */
export interface PlacementGroup {
  readonly priority: number;
  /** The locality's share within its priority (distribute); 1 when localities are not weighted. */
  readonly weight: number;
  readonly addresses: readonly string[];
}

interface LocalitySetting {
  enabled?: boolean;
  distribute?: Array<{ from?: string; to?: Record<string, number> }>;
  failover?: Array<{ from?: string; to?: string }>;
  failoverPriority?: string[];
}

/** undefined: no locality-aware balancing for this cluster. */
export function placeEndpoints(policy: TrafficPolicyConfig, proxyLabels: Readonly<Record<string, string>>, endpoints: ReadonlyMap<string, Endpoint>): PlacementGroup[] | undefined {
  const setting = (policy.localityLbSetting ?? {}) as LocalitySetting;
  if (setting.enabled === false) return undefined;
  const own = localityOf(proxyLabels);
  if (own === undefined || endpoints.size === 0) return undefined;
  const proxy = parseLocality(own);
  if (setting.distribute !== undefined && setting.distribute.length > 0) return distribute(setting.distribute, proxy, endpoints);
  if (policy.outlierDetection === null) return undefined;
  return failoverPriorities(setting, proxy, proxyLabels, endpoints);
}

function distribute(entries: NonNullable<LocalitySetting['distribute']>, proxy: Locality, endpoints: ReadonlyMap<string, Endpoint>): PlacementGroup[] | undefined {
  const entry = entries.find((e) => e.from === undefined || localityMatches(e.from, proxy));
  if (entry === undefined) return undefined;
  const byLocality = new Map<string, string[]>();
  for (const [address, ep] of endpoints) {
    const key = ep.locality ?? '';
    const list = byLocality.get(key);
    if (list === undefined) byLocality.set(key, [address]);
    else list.push(address);
  }
  const groups: PlacementGroup[] = [];
  const taken = new Set<string>();
  for (const [pattern, weight] of Object.entries(entry.to ?? {})) {
    const covered = [...byLocality.entries()].filter(([loc]) => !taken.has(loc) && localityMatches(pattern, parseLocality(loc)));
    const total = covered.reduce((n, [, a]) => n + a.length, 0);
    for (const [loc, addresses] of covered) {
      taken.add(loc);
      const share = (weight * addresses.length) / total;
      if (share > 0) groups.push({ priority: 0, weight: share, addresses });
    }
  }
  return groups;
}

function localityRank(ep: Locality, proxy: Locality, failoverTo: string | undefined): number {
  if (ep.region === proxy.region && ep.zone === proxy.zone && ep.subzone === proxy.subzone) return 0;
  if (ep.region === proxy.region && ep.zone === proxy.zone) return 1;
  if (ep.region === proxy.region) return 2;
  if (failoverTo !== undefined && localityMatches(failoverTo, ep)) return 3;
  return 4;
}

/** A label's value for an endpoint: the locality's parts for the topology labels, else the label itself. */
function labelOf(key: string, ep: Endpoint, loc: Locality): string | undefined {
  if (key === REGION_LABEL) return loc.region || undefined;
  if (key === ZONE_LABEL) return loc.zone || undefined;
  if (key === SUBZONE_LABEL) return loc.subzone || undefined;
  return ep.labels?.[key];
}

function failoverPriorities(setting: LocalitySetting, proxy: Locality, proxyLabels: Readonly<Record<string, string>>, endpoints: ReadonlyMap<string, Endpoint>): PlacementGroup[] | undefined {
  const failoverTo = setting.failover?.find((f) => f.from === proxy.region)?.to;
  const labels = (setting.failoverPriority ?? []).map((entry) => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const proxyValue = eq < 0 ? (key === REGION_LABEL ? proxy.region : key === ZONE_LABEL ? proxy.zone : key === SUBZONE_LABEL ? proxy.subzone : proxyLabels[key]) : entry.slice(eq + 1);
    return { key, value: proxyValue };
  });
  const ranked = new Map<number, string[]>();
  for (const [address, ep] of endpoints) {
    const loc = parseLocality(ep.locality);
    let labelRank = 0;
    for (let i = 0; i < labels.length; i++) {
      const { key, value } = labels[i]!;
      if (value === undefined || labelOf(key, ep, loc) !== value) {
        labelRank = labels.length - i;
        break;
      }
    }
    // failoverPriority alone orders by its labels only; with `failover` too, Istio applies both (locality first).
    const byLocality = labels.length === 0 || (setting.failover?.length ?? 0) > 0 ? localityRank(loc, proxy, failoverTo) : 0;
    const rank = byLocality * (labels.length + 1) + labelRank;
    const list = ranked.get(rank);
    if (list === undefined) ranked.set(rank, [address]);
    else list.push(address);
  }
  if (ranked.size <= 1) return undefined;
  return [...ranked.keys()].sort((a, b) => a - b).map((rank, priority) => ({ priority, weight: 1, addresses: ranked.get(rank)! }));
}
