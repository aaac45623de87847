/**
 * Which DestinationRule applies to traffic from a workload to a service, by Istio's lookup: rules in the client's
 * own namespace first (one whose workloadSelector matches the client ahead of those without a selector), then rules
 * of the service's namespace exported to the client's, then rules of the root namespace exported to it. At each
 * level the most specific host wins (an exact name, then the longest wildcard), and several rules for that host are
 * merged as Istio consolidates them: oldest first, the first traffic policy kept, subsets added unless the name is
 * taken.
 */
import type { DestinationRuleSpec, Subset } from '../../config/kinds/destination-rule.js';
import type { PortTrafficPolicy, TrafficPolicy } from '../../config/kinds/traffic-policy.js';
import { CLUSTER_DOMAIN, isExportedTo } from '../registry/index.js';
import { perSnapshot } from './snapshot-memo.js';
import type { MeshSnapshot, Named } from './snapshot.js';
import { hostSubsetOf } from './sidecar-scope.js';

export interface AppliedDestinationRule {
  /** `namespace/name` of each merged rule, oldest first. */
  sources: string[];
  trafficPolicy: TrafficPolicy | undefined;
  subsets: Subset[];
  /** True when a workloadSelector chose the rule for this client (Istio then applies `credentialName` at a sidecar). */
  workloadSelected: boolean;
}

interface IndexedRule {
  rule: Named<DestinationRuleSpec>;
  /** The host as Istio reads it: a name without dots is short for one in the rule's namespace. */
  host: string;
}

/** Istio's ResolveShortnameToFQDN for a rule's host. */
export function ruleHost(host: string, namespace: string): string {
  const h = host.toLowerCase();
  if (h === '*' || h.includes('.') || h.includes(':')) return h;
  return `${h}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

function byAge(a: Named<unknown>, b: Named<unknown>): number {
  return a.creationTimestamp.localeCompare(b.creationTimestamp) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function rulesByNamespace(snap: MeshSnapshot): ReadonlyMap<string, readonly IndexedRule[]> {
  return perSnapshot(snap, 'destination-rules-by-namespace', () => {
    const out = new Map<string, IndexedRule[]>();
    for (const rule of [...snap.destinationRules].sort(byAge)) {
      const entry = { rule, host: ruleHost(rule.spec.host, rule.namespace) };
      const list = out.get(rule.namespace);
      if (list) list.push(entry);
      else out.set(rule.namespace, [entry]);
    }
    return out;
  });
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The rules of one list whose host is the most specific match for `host`: exact, else the longest wildcard. */
function mostSpecific(rules: readonly IndexedRule[], host: string): IndexedRule[] {
  const matching = rules.filter((r) => hostSubsetOf(host, r.host));
  if (matching.length === 0) return [];
  const exact = matching.filter((r) => r.host === host);
  if (exact.length > 0) return exact;
  const longest = Math.max(...matching.map((r) => r.host.length));
  return matching.filter((r) => r.host.length === longest);
}

function merge(rules: readonly IndexedRule[], workloadSelected = false): AppliedDestinationRule | undefined {
  if (rules.length === 0) return undefined;
  const subsets: Subset[] = [];
  let trafficPolicy: TrafficPolicy | undefined;
  for (const { rule } of rules) {
    trafficPolicy ??= rule.spec.trafficPolicy;
    for (const s of rule.spec.subsets ?? []) if (!subsets.some((x) => x.name === s.name)) subsets.push(s);
  }
  return { sources: rules.map((r) => `${r.rule.namespace}/${r.rule.name}`), trafficPolicy, subsets, workloadSelected };
}

export interface ClientProxy {
  namespace: string;
  labels: Record<string, string>;
}

export function destinationRuleFor(snap: MeshSnapshot, client: ClientProxy, service: { host: string; namespace: string }): AppliedDestinationRule | undefined {
  const index = rulesByNamespace(snap);
  const host = service.host.toLowerCase();
  // The client's namespace: every rule there is local to it; a selector narrows a rule to the workloads it matches.
  const own = mostSpecific(
    (index.get(client.namespace) ?? []).filter((r) => r.rule.spec.exportTo?.includes('~') !== true),
    host,
  );
  const selected = own.filter((r) => r.rule.spec.workloadSelector !== undefined && selects(r.rule.spec.workloadSelector.matchLabels ?? {}, client.labels));
  const local = selected.length > 0 ? selected : own.filter((r) => r.rule.spec.workloadSelector === undefined);
  if (local.length > 0) return merge(local, selected.length > 0);
  for (const ns of [service.namespace, snap.mesh.rootNamespace]) {
    if (ns === client.namespace) continue;
    const exported = (index.get(ns) ?? []).filter(
      (r) => r.rule.spec.workloadSelector === undefined && isExportedTo(r.rule.spec.exportTo, r.rule.namespace, client.namespace),
    );
    const found = mostSpecific(exported, host);
    if (found.length > 0) return merge(found);
  }
  return undefined;
}

/**
 * Istio's MergeTrafficPolicy for one port: the top level with its port-level setting for `port` applied, then the
 * subset's policy over it component by component, then the subset's port-level setting. A port-level setting
 * replaces all four of its components, unset ones included ("default values will be applied to fields omitted").
 */
export function policyForPort(top: TrafficPolicy | undefined, subset: TrafficPolicy | undefined, port: number): TrafficPolicy | undefined {
  const base = top === undefined ? undefined : withPortLevel(top, port);
  if (subset === undefined) return base;
  const merged: TrafficPolicy = { ...withoutPortLevel(base) };
  for (const k of ['connectionPool', 'outlierDetection', 'loadBalancer', 'tls', 'tunnel', 'proxyProtocol'] as const) {
    if (subset[k] !== undefined) (merged as Record<string, unknown>)[k] = subset[k];
  }
  return withPortLevel({ ...merged, ...portLevelOf(subset) }, port);
}

function portLevelOf(p: TrafficPolicy): Pick<TrafficPolicy, 'portLevelSettings'> {
  return p.portLevelSettings === undefined ? {} : { portLevelSettings: p.portLevelSettings };
}

function withoutPortLevel(p: TrafficPolicy | undefined): TrafficPolicy {
  if (p === undefined) return {};
  const { portLevelSettings: _dropped, ...rest } = p;
  return rest;
}

function withPortLevel(p: TrafficPolicy, port: number): TrafficPolicy {
  const setting: PortTrafficPolicy | undefined = p.portLevelSettings?.find((s) => s.port?.number === port);
  const rest = withoutPortLevel(p);
  if (setting === undefined) return rest;
  const { connectionPool: _c, outlierDetection: _o, loadBalancer: _l, tls: _t, ...kept } = rest;
  const replaced: TrafficPolicy = { ...kept };
  if (setting.connectionPool !== undefined) replaced.connectionPool = setting.connectionPool;
  if (setting.outlierDetection !== undefined) replaced.outlierDetection = setting.outlierDetection;
  if (setting.loadBalancer !== undefined) replaced.loadBalancer = setting.loadBalancer;
  if (setting.tls !== undefined) replaced.tls = setting.tls;
  return replaced;
}
