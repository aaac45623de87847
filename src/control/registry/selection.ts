/**
 * Which Services select which Workloads. Computed once per registry and remembered (the registry is immutable
 * plain data), because a mesh-wide compile asks the question for every service and every workload: checking
 * every service against every workload on each ask is O(S × W) per proxy.
 */
import type { Registry, RegistryService, RegistryWorkload } from './index.js';

/** Kubernetes selector semantics: every selector label present with that value; no selector selects nothing. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  return keys.every((k) => labels[k] === selector[k]);
}

interface Selection {
  workloadsOf: Map<RegistryService, readonly RegistryWorkload[]>;
  servicesOf: Map<RegistryWorkload, readonly RegistryService[]>;
  /** `namespace/name` → workload. */
  byName: Map<string, RegistryWorkload>;
}

const selections = new WeakMap<Registry, Selection>();

function selectionOf(reg: Registry): Selection {
  let s = selections.get(reg);
  if (!s) {
    s = buildSelection(reg);
    selections.set(reg, s);
  }
  return s;
}

/**
 * One pass over the workloads files each under every `namespace, label=value` it carries; a service then checks
 * only the workloads filed under one of its selector's pairs. Lists keep registry order on both sides.
 */
function buildSelection(reg: Registry): Selection {
  const byLabel = new Map<string, RegistryWorkload[]>();
  const byName = new Map<string, RegistryWorkload>();
  const servicesOf = new Map<RegistryWorkload, RegistryService[]>();
  for (const w of reg.workloads) {
    if (!byName.has(`${w.namespace}/${w.name}`)) byName.set(`${w.namespace}/${w.name}`, w);
    servicesOf.set(w, []);
    for (const [k, v] of Object.entries(w.labels)) {
      const key = labelKey(w.namespace, k, v);
      const list = byLabel.get(key);
      if (list) list.push(w);
      else byLabel.set(key, [w]);
    }
  }
  const workloadsOf = new Map<RegistryService, readonly RegistryWorkload[]>();
  for (const svc of reg.services) {
    const first = Object.entries(svc.selector ?? {})[0];
    const candidates = first ? (byLabel.get(labelKey(svc.namespace, first[0], first[1])) ?? []) : [];
    const selected = candidates.filter((w) => selects(svc.selector, w.labels));
    workloadsOf.set(svc, selected);
    for (const w of selected) servicesOf.get(w)?.push(svc);
  }
  return { workloadsOf, servicesOf, byName };
}

function labelKey(namespace: string, key: string, value: string): string {
  return JSON.stringify([namespace, key, value]);
}

export function servicesOf(reg: Registry, w: RegistryWorkload): readonly RegistryService[] {
  return selectionOf(reg).servicesOf.get(w) ?? reg.services.filter((s) => s.namespace === w.namespace && selects(s.selector, w.labels));
}

export function workloadsOf(reg: Registry, s: RegistryService): readonly RegistryWorkload[] {
  return selectionOf(reg).workloadsOf.get(s) ?? reg.workloads.filter((w) => w.namespace === s.namespace && selects(s.selector, w.labels));
}

export function workloadNamed(reg: Registry, namespace: string, name: string): RegistryWorkload | undefined {
  return selectionOf(reg).byName.get(`${namespace}/${name}`);
}
