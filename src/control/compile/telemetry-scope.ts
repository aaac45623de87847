/**
 * Which Telemetry resources a proxy is under, Istio's hierarchy: the root namespace's selector-less Telemetry
 * (mesh-wide), then its own namespace's selector-less one, then the first of its namespace's that selects it. Where
 * several could apply at one level, the oldest wins (then the name), as Istio orders them by creation time.
 */
import type { TelemetrySpec } from '../../config/kinds/telemetry.js';
import type { MeshSnapshot, Named } from './snapshot.js';

/** The Gateway API's label on a Gateway's proxies, naming the Gateway: what a Telemetry's targetRefs select. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

export interface TelemetryTarget {
  role: 'sidecar' | 'gateway';
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

const oldestFirst = (a: Named<TelemetrySpec>, b: Named<TelemetrySpec>): number =>
  a.creationTimestamp.localeCompare(b.creationTimestamp) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function targeted(t: Named<TelemetrySpec>): boolean {
  return t.spec.targetRef !== undefined || (t.spec.targetRefs?.length ?? 0) > 0;
}

function namespaceWide(t: Named<TelemetrySpec>): boolean {
  return Object.keys(t.spec.selector?.matchLabels ?? {}).length === 0 && !targeted(t);
}

/**
 * A selector selects by labels (sidecars and gateways alike). targetRefs select a gateway: a Gateway API `Gateway`
 * by the name its proxies carry in GATEWAY_NAME_LABEL. Other targets (Services, waypoints) select no weft proxy.
 */
function selects(t: Named<TelemetrySpec>, target: TelemetryTarget): boolean {
  if (targeted(t)) {
    if (target.role !== 'gateway') return false;
    const refs = [...(t.spec.targetRef ? [t.spec.targetRef] : []), ...(t.spec.targetRefs ?? [])];
    return refs.some((r) => r.kind === 'Gateway' && (r.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' && target.labels[GATEWAY_NAME_LABEL] === r.name);
  }
  const m = t.spec.selector?.matchLabels ?? {};
  const keys = Object.keys(m);
  return keys.length > 0 && keys.every((k) => target.labels[k] === m[k]);
}

/** The Telemetries in force for a proxy, most general first: root, namespace, workload (each at most one). */
export function applicableTelemetries(snap: MeshSnapshot, target: TelemetryTarget): Named<TelemetrySpec>[] {
  const root = snap.mesh.rootNamespace;
  const sorted = [...snap.telemetries].sort(oldestFirst);
  const out: Named<TelemetrySpec>[] = [];
  const rootWide = sorted.find((t) => t.namespace === root && namespaceWide(t));
  if (rootWide) out.push(rootWide);
  if (target.namespace !== root) {
    const nsWide = sorted.find((t) => t.namespace === target.namespace && namespaceWide(t));
    if (nsWide) out.push(nsWide);
  }
  const workload = sorted.find((t) => t.namespace === target.namespace && selects(t, target));
  if (workload) out.push(workload);
  return out;
}
