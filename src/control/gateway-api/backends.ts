/**
 * backendRefs to Istio destinations: a Service (core group, the only kind served) by its FQDN and port; another
 * namespace's only where a ReferenceGrant there allows the route's kind. A reference that does not resolve is kept
 * as a problem with the spec's ResolvedRefs reason; the caller answers 500 for its share of requests.
 */
import type { BackendObjectReference } from '../../config/kinds/gateway-api/shared-fields.js';
import type { Destination } from '../../config/kinds/virtual-service.js';
import { CLUSTER_DOMAIN } from '../registry/index.js';
import type { RefProblem } from './conditions.js';
import { ROUTE_GROUP, referenceAllowed } from './world.js';
import type { GatewayApiWorld } from './world.js';

export type BackendResolution = { ok: true; destination: Destination } | { ok: false; problem: RefProblem };

export function resolveBackend(w: GatewayApiWorld, ref: BackendObjectReference, from: { kind: string; namespace: string }): BackendResolution {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  if (group !== '' || kind !== 'Service') return { ok: false, problem: { reason: 'InvalidKind', message: `referencing unsupported backendRef: group "${group}" kind "${kind}"` } };
  const namespace = ref.namespace ?? from.namespace;
  if (!referenceAllowed(w, { group: ROUTE_GROUP, kind: from.kind, namespace: from.namespace }, { group: '', kind: 'Service', namespace, name: ref.name })) {
    return { ok: false, problem: { reason: 'RefNotPermitted', message: `backendRef ${ref.name}/${namespace} not accessible to a ${from.kind} in namespace "${from.namespace}" (missing a ReferenceGrant?)` } };
  }
  const host = `${ref.name}.${namespace}.svc.${CLUSTER_DOMAIN}`;
  const ports = w.services.get(`${namespace}/${ref.name}`);
  if (ports === undefined) return { ok: false, problem: { reason: 'BackendNotFound', message: `backend(${host}) not found` } };
  if (ref.port !== undefined && !ports.includes(ref.port)) return { ok: false, problem: { reason: 'BackendNotFound', message: `backend(${host}) has no port ${ref.port}` } };
  return { ok: true, destination: { host, ...(ref.port === undefined ? {} : { port: { number: ref.port } }) } };
}
