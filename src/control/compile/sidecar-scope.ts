/**
 * Istio's Sidecar resource as it narrows what a sidecar proxy can reach: which Sidecar applies to a workload, and
 * which hosts (and ports) its egress listeners import. Gateways never take a Sidecar.
 */
import type { SidecarSpec } from '../../config/kinds/sidecar.js';
import type { OutboundTrafficPolicyMode } from '../../proxyconfig/types.js';
import type { MeshSnapshot, Named } from './snapshot.js';
import { perSnapshot } from './snapshot-memo.js';

export type AppliedSidecar = Named<SidecarSpec>;

/** Which ports of a visible host a proxy may use: all of them, or those an egress listener's port names. */
export type PortFilter = 'all' | ReadonlySet<number>;

export interface EgressScope {
  /** undefined: the host is not imported for a service in `namespace`. */
  visible(namespace: string, host: string): PortFilter | undefined;
  /**
   * Every host this scope can import, lower case, when each egress host is an exact name: a caller may look
   * these up instead of asking `visible` of every service in the mesh. Undefined: some host is a wildcard.
   */
  readonly exactHosts?: ReadonlySet<string>;
}

/**
 * Istio's host-subset rule (host.Name.SubsetOf): is every name `host` stands for also covered by `pattern`?
 * `*` covers everything; `*.suffix` covers names ending in `.suffix` (never `suffix` itself) and narrower
 * wildcards; an exact pattern covers only itself, never a wildcard host.
 */
export function hostSubsetOf(host: string, pattern: string): boolean {
  const h = host.toLowerCase();
  const p = pattern.toLowerCase();
  const hWild = h.startsWith('*');
  if (p.startsWith('*')) return hWild ? h.length >= p.length && h.slice(1).endsWith(p.slice(1)) : h.endsWith(p.slice(1));
  return !hWild && h === p;
}

function byAge(a: AppliedSidecar, b: AppliedSidecar): number {
  // RFC 3339 timestamps of one format order as their text does: a plain comparison, far cheaper than localeCompare.
  const t = a.creationTimestamp < b.creationTimestamp ? -1 : a.creationTimestamp > b.creationTimestamp ? 1 : 0;
  return t || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function sidecarsByNamespace(snap: MeshSnapshot): ReadonlyMap<string, readonly AppliedSidecar[]> {
  return perSnapshot(snap, 'sidecars-by-namespace', () => {
    const out = new Map<string, AppliedSidecar[]>();
    for (const s of [...snap.sidecars].sort(byAge)) {
      const list = out.get(s.namespace);
      if (list) list.push(s);
      else out.set(s.namespace, [s]);
    }
    return out;
  });
}

/** Istio's WorkloadSelector: every listed label present with that value; no labels listed selects every workload. */
function selectsWorkload(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * The Sidecar that applies to a workload, by Istio's precedence: one in its namespace whose workloadSelector
 * matches its labels; else its namespace's Sidecar without a selector; else the root namespace's Sidecar without
 * a selector. Istio forbids (but cannot prevent) two candidates at one level; like Istio, the oldest wins, and
 * among equally old ones the first by name, so the choice does not depend on the order resources were listed.
 */
export function sidecarFor(snap: MeshSnapshot, workload: { namespace: string; labels: Record<string, string> }): AppliedSidecar | undefined {
  const index = sidecarsByNamespace(snap);
  const own = index.get(workload.namespace) ?? [];
  return (
    selectingSidecar(snap, workload) ??
    own.find((s) => s.spec.workloadSelector === undefined) ??
    (index.get(snap.mesh.rootNamespace) ?? []).find((s) => s.spec.workloadSelector === undefined)
  );
}

interface SelectorIndex {
  /** Sidecars with a selector, by one `key=value` pair of it (each Sidecar under one pair), oldest first. */
  byLabel: Map<string, { sidecar: AppliedSidecar; age: number }[]>;
  /** Sidecars whose selector lists no labels: they select every workload. */
  any: { sidecar: AppliedSidecar; age: number }[];
}

/**
 * The oldest Sidecar in the workload's namespace whose selector matches it. Indexed per snapshot by a label pair of
 * each selector, so a workload is checked only against Sidecars that name one of its own labels rather than every
 * Sidecar of its namespace (a mesh with a Sidecar per workload would otherwise cost proxies × Sidecars).
 */
function selectingSidecar(snap: MeshSnapshot, workload: { namespace: string; labels: Record<string, string> }): AppliedSidecar | undefined {
  const byNamespace = perSnapshot(snap, 'sidecar-selectors', () => {
    const out = new Map<string, SelectorIndex>();
    for (const [ns, list] of sidecarsByNamespace(snap)) {
      const idx: SelectorIndex = { byLabel: new Map(), any: [] };
      list.forEach((sidecar, age) => {
        const selector = sidecar.spec.workloadSelector;
        if (selector === undefined) return;
        const first = Object.entries(selector.labels ?? {})[0];
        if (first === undefined) {
          idx.any.push({ sidecar, age });
          return;
        }
        const key = `${first[0]}=${first[1]}`;
        const bucket = idx.byLabel.get(key);
        if (bucket) bucket.push({ sidecar, age });
        else idx.byLabel.set(key, [{ sidecar, age }]);
      });
      out.set(ns, idx);
    }
    return out;
  });
  const idx = byNamespace.get(workload.namespace);
  if (idx === undefined) return undefined;
  let best: { sidecar: AppliedSidecar; age: number } | undefined = idx.any[0];
  for (const [k, v] of Object.entries(workload.labels)) {
    for (const c of idx.byLabel.get(`${k}=${v}`) ?? []) {
      if (best !== undefined && c.age >= best.age) break;
      if (selectsWorkload(c.sidecar.spec.workloadSelector?.labels ?? {}, workload.labels)) best = c;
    }
  }
  return best?.sidecar;
}

interface EgressListener {
  /** Set: only this port of the matched hosts (Istio's port match on a listener with a port). */
  port: number | undefined;
  hosts: { namespace: string; dnsName: string }[];
}

const EVERYTHING: EgressScope = { visible: () => 'all' };

/**
 * What a Sidecar's egress listeners import for a proxy in `fromNamespace`. Each host is `namespace/dnsName`:
 * namespace `*` (any), `.` (the proxy's own: for a root-namespace Sidecar that is the workload's namespace, as
 * Istio reads it), `~` (none) or a name. A Sidecar without egress listeners imports everything, as no Sidecar does.
 * A host imported by several listeners gets the union of their ports.
 */
export function egressScope(sidecar: AppliedSidecar | undefined, fromNamespace: string): EgressScope {
  const egress = sidecar?.spec.egress ?? [];
  if (egress.length === 0) return EVERYTHING;
  const listeners: EgressListener[] = egress.map((l) => ({
    port: l.port?.number === undefined || l.port.number === 0 ? undefined : l.port.number,
    hosts: l.hosts.flatMap((h) => {
      const slash = h.indexOf('/');
      if (slash < 0) return []; // validation rejects these; a stored one imports nothing
      const ns = h.slice(0, slash);
      return [{ namespace: ns === '.' ? fromNamespace : ns, dnsName: h.slice(slash + 1) }];
    }),
  }));
  const names = listeners.flatMap((l) => l.hosts.map((h) => h.dnsName.toLowerCase()));
  const exactHosts = names.some((n) => n.startsWith('*')) ? undefined : new Set(names);
  return {
    ...(exactHosts === undefined ? {} : { exactHosts }),
    visible(namespace, host) {
      const ports = new Set<number>();
      for (const l of listeners) {
        if (!l.hosts.some((h) => (h.namespace === '*' || h.namespace === namespace) && hostSubsetOf(host, h.dnsName))) continue;
        if (l.port === undefined) return 'all';
        ports.add(l.port);
      }
      return ports.size > 0 ? ports : undefined;
    },
  };
}

/** The Sidecar's outboundTrafficPolicy replaces the mesh's whole; set without a mode it is Istio's default, REGISTRY_ONLY. */
export function trafficPolicyFor(snap: MeshSnapshot, sidecar: AppliedSidecar | undefined): OutboundTrafficPolicyMode {
  const own = sidecar?.spec.outboundTrafficPolicy;
  return own === undefined ? snap.mesh.outboundTrafficPolicy.mode : (own.mode ?? 'REGISTRY_ONLY');
}

/** Keeps the ports a filter allows; undefined when a port filter leaves none (Istio then drops the service). */
export function portsAllowed<P extends { port: number }>(ports: P[], filter: PortFilter): P[] | undefined {
  if (filter === 'all') return ports;
  const kept = ports.filter((p) => filter.has(p.port));
  return kept.length > 0 ? kept : undefined;
}
