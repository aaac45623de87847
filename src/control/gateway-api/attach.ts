/**
 * Which listeners a route attaches to, per parentRef, with the spec's Accepted reasons: the parent must exist and be
 * served here (NoMatchingParent), sectionName and port narrow its listeners, each listener must allow the route's
 * kind and namespace (NotAllowedByListeners), and the route's hostnames must meet the listener's
 * (NoMatchingListenerHostname).
 */
import type { ParentReference } from '../../config/kinds/gateway-api/shared-fields.js';
import type { LabelSelector } from '../../config/kinds/gateway-api/gateway.js';
import { cond } from './conditions.js';
import type { Condition } from './conditions.js';
import { intersectHostnames } from './hostnames.js';
import type { ServedListener, TranslatedGateway } from './listeners.js';
import { ROUTE_GROUP } from './world.js';
import type { Obj, RouteKind } from './world.js';

export interface Attachment {
  listener: ServedListener;
  /** The hostnames the route serves on this listener (`*` for any). */
  hostnames: string[];
}

export interface ParentResult {
  parentRef: ParentReference;
  /** Undefined: the parent is not a Gateway served here, so this controller writes no status for it. */
  accepted: Condition | undefined;
  attachments: Attachment[];
}

/**
 * weft has no Namespace objects: a namespace carries only the label Kubernetes always sets on one,
 * `kubernetes.io/metadata.name`, so a Selector can pick namespaces by name.
 */
function namespaceSelected(sel: LabelSelector, namespace: string): boolean {
  const labels: Record<string, string> = { 'kubernetes.io/metadata.name': namespace };
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const ok =
      e.operator === 'Exists' ? has : e.operator === 'DoesNotExist' ? !has : e.operator === 'In' ? has && (e.values ?? []).includes(value ?? '') : !has || !(e.values ?? []).includes(value ?? '');
    if (!ok) return false;
  }
  return true;
}

function namespaceAllowed(l: ServedListener, routeNamespace: string): boolean {
  const ns = l.listener.allowedRoutes?.namespaces;
  switch (ns?.from ?? 'Same') {
    case 'All':
      return true;
    case 'Same':
      return routeNamespace === l.gateway.namespace;
    case 'Selector':
      return ns?.selector !== undefined && namespaceSelected(ns.selector, routeNamespace);
    case 'None':
      return false;
  }
}

export function attachRoute(route: Obj<{ parentRefs?: ParentReference[]; hostnames?: string[] }>, gateways: readonly TranslatedGateway[]): ParentResult[] {
  const kind = route.kind as RouteKind;
  const hostnames = kind === 'TCPRoute' ? [] : (route.spec.hostnames ?? []);
  return (route.spec.parentRefs ?? []).map((ref): ParentResult => {
    const isGateway = (ref.group ?? ROUTE_GROUP) === ROUTE_GROUP && (ref.kind ?? 'Gateway') === 'Gateway';
    const t = isGateway ? gateways.find((g) => g.gateway.namespace === (ref.namespace ?? route.namespace) && g.gateway.name === ref.name) : undefined;
    if (t === undefined) return { parentRef: ref, accepted: undefined, attachments: [] };
    const candidates = t.listeners.filter((l) => (ref.sectionName === undefined || l.listener.name === ref.sectionName) && (ref.port === undefined || l.listener.port === ref.port));
    if (candidates.length === 0) {
      return { parentRef: ref, accepted: cond('Accepted', false, 'NoMatchingParent', `no listener matches sectionName ${ref.sectionName ?? '(any)'} and port ${ref.port ?? '(any)'}`), attachments: [] };
    }
    const allowed = candidates.filter((l) => l.accepted && l.allowedKinds.includes(kind) && namespaceAllowed(l, route.namespace));
    if (allowed.length === 0) return { parentRef: ref, accepted: cond('Accepted', false, 'NotAllowedByListeners', `no listener allows a ${kind} from namespace "${route.namespace}"`), attachments: [] };
    const attachments = allowed
      .map((listener) => ({ listener, hostnames: kind === 'TCPRoute' ? ['*'] : intersectHostnames(listener.listener.hostname, hostnames) }))
      .filter((a) => a.hostnames.length > 0);
    if (attachments.length === 0) return { parentRef: ref, accepted: cond('Accepted', false, 'NoMatchingListenerHostname', 'no hostname of the route matches a listener hostname'), attachments: [] };
    return { parentRef: ref, accepted: cond('Accepted', true, 'Accepted', 'Route was valid'), attachments };
  });
}
