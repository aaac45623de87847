/**
 * What the Gateway API translation reads from the stored resources: GatewayClasses, Gateways, routes of each kind,
 * ReferenceGrants, Services and Secrets, each indexed the way the translation looks them up.
 */
import type { Resource } from '../../config/resource.js';
import type { GatewayClassSpec, KubernetesGatewaySpec, ReferenceGrantSpec } from '../../config/kinds/gateway-api/gateway.js';
import { GATEWAY_API_GROUP } from '../../config/kinds/gateway-api/kinds.js';
import { CONTROLLER_NAME } from './conditions.js';

export interface Obj<Spec> {
  kind: string;
  namespace: string;
  name: string;
  creationTimestamp: string;
  spec: Spec;
}

export type RouteKind = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute';

export interface GatewayApiWorld {
  classes: Map<string, Obj<GatewayClassSpec>>;
  gateways: Obj<KubernetesGatewaySpec>[];
  routes: Obj<unknown>[];
  grants: Obj<ReferenceGrantSpec>[];
  /** `namespace/name` → the Service's port numbers. */
  services: Map<string, number[]>;
  /** `namespace/name` of every Secret. */
  secrets: Set<string>;
}

function obj<Spec>(r: Resource): Obj<Spec> {
  const creationTimestamp = (r.metadata as { creationTimestamp?: string }).creationTimestamp ?? '';
  return { kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name, creationTimestamp, spec: r.spec as Spec };
}

/** Routes in the spec's order of precedence between routes: oldest first, then by namespace/name. */
export function byAge(a: Obj<unknown>, b: Obj<unknown>): number {
  return a.creationTimestamp.localeCompare(b.creationTimestamp) || `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
}

export function gatewayApiWorld(resources: readonly Resource[]): GatewayApiWorld {
  const w: GatewayApiWorld = { classes: new Map(), gateways: [], routes: [], grants: [], services: new Map(), secrets: new Set() };
  for (const r of resources) {
    switch (r.kind) {
      case 'GatewayClass':
        w.classes.set(r.metadata.name, obj(r));
        break;
      case 'KubernetesGateway':
        w.gateways.push(obj(r));
        break;
      case 'HTTPRoute':
      case 'GRPCRoute':
      case 'TLSRoute':
      case 'TCPRoute':
        w.routes.push(obj(r));
        break;
      case 'ReferenceGrant':
        w.grants.push(obj(r));
        break;
      case 'Service':
        w.services.set(`${r.metadata.namespace}/${r.metadata.name}`, ((r.spec as { ports?: { port: number }[] }).ports ?? []).map((p) => p.port));
        break;
      case 'Secret':
        w.secrets.add(`${r.metadata.namespace}/${r.metadata.name}`);
        break;
      default:
        break;
    }
  }
  w.gateways.sort(byAge);
  w.routes.sort(byAge);
  return w;
}

/**
 * The class `istio` is Istio's own, present whether or not a GatewayClass object is written; any other class is
 * served when its GatewayClass names Istio's controller.
 */
export function servedClass(w: GatewayApiWorld, className: string): boolean {
  const c = w.classes.get(className);
  return c === undefined ? className === 'istio' : c.spec.controllerName === CONTROLLER_NAME;
}

/**
 * May an object of `fromKind` in `fromNamespace` refer to `toKind` `toName` in `toNamespace`? Same namespace always;
 * across namespaces only where a ReferenceGrant in the target namespace lets it.
 */
export function referenceAllowed(w: GatewayApiWorld, from: { group: string; kind: string; namespace: string }, to: { group: string; kind: string; namespace: string; name: string }): boolean {
  if (from.namespace === to.namespace) return true;
  return w.grants.some(
    (g) =>
      g.namespace === to.namespace &&
      g.spec.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
      g.spec.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name)),
  );
}

export const ROUTE_GROUP = GATEWAY_API_GROUP;
