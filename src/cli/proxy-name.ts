/**
 * How `weft proxy-config` and `weft route check` name a proxy: as other verbs name a workload (`name` with
 * `-n NS`, or `namespace/name`), or a proxy id as `weft status` prints it (`sidecar/ns/name`, `gateway/ns/name`).
 * A workload's name means its sidecar; the ingress gateway is found by its own name when no sidecar has it.
 */
import { WeftError } from '../errors.js';

export interface ProxyName {
  role: 'sidecar' | 'gateway' | undefined;
  namespace: string | undefined;
  name: string;
}

export function parseProxyName(arg: string, namespace: string | undefined): ProxyName {
  const parts = arg.split('/');
  if (parts.some((p) => p === '') || parts.length > 3) {
    throw new WeftError('BAD_REQUEST', `"${arg}" names no workload: use NAME, NAMESPACE/NAME or sidecar|gateway/NAMESPACE/NAME`);
  }
  if (parts.length === 3) {
    const role = parts[0];
    if (role !== 'sidecar' && role !== 'gateway') throw new WeftError('BAD_REQUEST', `"${arg}": a proxy id starts with sidecar/ or gateway/`);
    return { role, namespace: parts[1], name: parts[2]! };
  }
  if (parts.length === 2) return { role: undefined, namespace: parts[0], name: parts[1]! };
  return { role: undefined, namespace, name: arg };
}

/** The proxy id among those the control plane knows (`weft status`), sidecars first. */
export function resolveProxyId(wanted: ProxyName, known: ReadonlyArray<{ id: string; role: string; namespace: string; name: string }>): string {
  const ns = wanted.namespace ?? 'default';
  const fits = (p: { role: string; namespace: string; name: string }): boolean =>
    p.name === wanted.name && (wanted.role === undefined || p.role === wanted.role) && (wanted.namespace === undefined ? p.role === 'gateway' || p.namespace === ns : p.namespace === ns);
  const found = known.filter(fits).sort((a, b) => (a.role === b.role ? 0 : a.role === 'sidecar' ? -1 : 1));
  const sidecarInNs = found.find((p) => p.role === 'sidecar' && p.namespace === ns);
  const hit = sidecarInNs ?? found[0];
  if (hit === undefined) throw new WeftError('NOT_FOUND', `no proxy of workload "${wanted.name}" in namespace ${ns} is known to the control plane (see weft status)`);
  return hit.id;
}
