/**
 * The Gateway API as Istio's own resources: Gateways become Istio Gateways (one per listener, see listeners.ts),
 * routes attached to a listener become one VirtualService per listener and hostname holding every attached route's
 * rules in the spec's precedence (path kind and length, method, headers, query; then the older route; then rule
 * order). The result feeds the same compile as resources users write, and the status of every Gateway API object.
 * Pure: the same resources give the same translation.
 */
import type { Resource } from '../../config/resource.js';
import type { GatewaySpec } from '../../config/kinds/gateway.js';
import type { HttpRoute, TcpRoute, TlsRoute, VirtualServiceSpec } from '../../config/kinds/virtual-service.js';
import type { GrpcRouteSpec, TcpRouteSpec, TlsRouteSpec } from '../../config/kinds/gateway-api/grpc-route.js';
import type { HttpRouteSpec } from '../../config/kinds/gateway-api/http-route.js';
import type { Named } from '../compile/snapshot.js';
import { attachRoute } from './attach.js';
import type { ParentResult } from './attach.js';
import { resolveBackend } from './backends.js';
import { CONTROLLER_NAME, cond, resolvedRefs } from './conditions.js';
import type { ParentRefStatus, RefProblem } from './conditions.js';
import { expandGrpcMatches } from './grpc-routes.js';
import { comparePrecedence, translateHttpRule, translateRule } from './http-routes.js';
import type { RankedRoute, RuleTranslation } from './http-routes.js';
import { gatewayConditions, listenerStatuses, translateGateways } from './listeners.js';
import type { ServedListener } from './listeners.js';
import { gatewayApiWorld } from './world.js';
import type { GatewayApiWorld, Obj } from './world.js';

export interface GatewayApiTranslation {
  gateways: Named<GatewaySpec>[];
  virtualServices: Named<VirtualServiceSpec>[];
  /** Status by `kind/namespace/name` (cluster-scoped kinds: empty namespace). */
  statuses: Map<string, unknown>;
}

interface Bucket {
  listener: ServedListener;
  hostname: string;
  http: RankedRoute[];
  tls: TlsRoute[];
  tcp: TcpRoute[];
}

const statusKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

function l4Destinations(w: GatewayApiWorld, route: Obj<TlsRouteSpec | TcpRouteSpec>, problems: RefProblem[]): TcpRoute['route'] {
  return route.spec.rules.flatMap((rule) => {
    const live = rule.backendRefs.filter((b) => (b.weight ?? 1) > 0);
    return live.flatMap((b) => {
      const r = resolveBackend(w, b, { kind: route.kind, namespace: route.namespace });
      if (!r.ok) {
        problems.push(r.problem);
        return [];
      }
      return [{ destination: r.destination, ...(live.length > 1 && { weight: b.weight ?? 1 }) }];
    });
  });
}

function httpRules(w: GatewayApiWorld, route: Obj<unknown>): RuleTranslation[] {
  const base = `${route.namespace}.${route.name}`;
  if (route.kind === 'GRPCRoute') {
    const spec = route.spec as GrpcRouteSpec;
    return (spec.rules ?? []).map((r, i) =>
      translateRule(w, { route, filters: r.filters ?? [], backendRefs: r.backendRefs ?? [] }, expandGrpcMatches(r.matches ?? []), r.name ?? `${base}.${i}`),
    );
  }
  const spec = route.spec as HttpRouteSpec;
  return (spec.rules ?? []).map((r, i) =>
    translateHttpRule(w, { route, filters: r.filters ?? [], backendRefs: r.backendRefs ?? [], timeouts: r.timeouts }, r.matches ?? [], r.name ?? `${base}.${i}`),
  );
}

export function translateGatewayApi(resources: readonly Resource[]): GatewayApiTranslation {
  const w = gatewayApiWorld(resources);
  const translated = translateGateways(w);
  const statuses = new Map<string, unknown>();
  const buckets = new Map<string, Bucket>();
  const attached = new Map<string, number>();
  const bucket = (listener: ServedListener, hostname: string): Bucket => {
    const key = `${listener.istioGateway}|${hostname}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { listener, hostname, http: [], tls: [], tcp: [] }));
    return b;
  };

  for (const route of w.routes) {
    const parents: ParentResult[] = attachRoute(route as Obj<{ parentRefs?: never[]; hostnames?: string[] }>, translated);
    if (parents.every((p) => p.accepted === undefined)) continue;
    const problems: RefProblem[] = [];
    let unsupported: string | undefined;
    let http: RankedRoute[] = [];
    let l4: TcpRoute['route'] = [];
    if (route.kind === 'HTTPRoute' || route.kind === 'GRPCRoute') {
      for (const t of httpRules(w, route)) {
        http.push(...t.routes);
        problems.push(...t.problems);
        unsupported ??= t.unsupported;
      }
    } else {
      l4 = l4Destinations(w, route as Obj<TlsRouteSpec>, problems);
    }
    if (unsupported !== undefined) http = [];
    const parentStatuses: ParentRefStatus[] = [];
    for (const p of parents) {
      if (p.accepted === undefined) continue;
      const accepted = unsupported !== undefined && p.accepted.status === 'True' ? cond('Accepted', false, 'UnsupportedValue', unsupported) : p.accepted;
      parentStatuses.push({ parentRef: { ...p.parentRef }, controllerName: CONTROLLER_NAME, conditions: [accepted, resolvedRefs(problems)] });
      if (accepted.status !== 'True') continue;
      for (const a of p.attachments) {
        attached.set(a.listener.istioGateway, (attached.get(a.listener.istioGateway) ?? 0) + 1);
        for (const h of a.hostnames) {
          const b = bucket(a.listener, h);
          if (route.kind === 'TLSRoute') {
            if (l4.length > 0) b.tls.push({ match: [{ sniHosts: [h] }], route: l4 });
          } else if (route.kind === 'TCPRoute') {
            if (l4.length > 0) b.tcp.push({ route: l4 });
          } else b.http.push(...http);
        }
      }
    }
    statuses.set(statusKey(route.kind, route.namespace, route.name), { parents: parentStatuses });
  }

  for (const t of translated) {
    statuses.set(statusKey('KubernetesGateway', t.gateway.namespace, t.gateway.name), { conditions: gatewayConditions(t), listeners: listenerStatuses(t, attached) });
  }
  for (const c of w.classes.values()) {
    if (c.spec.controllerName === CONTROLLER_NAME) statuses.set(statusKey('GatewayClass', '', c.name), { conditions: [cond('Accepted', true, 'Accepted', 'Handled by Istio controller')] });
  }

  const virtualServices: Named<VirtualServiceSpec>[] = [];
  let n = 0;
  for (const b of buckets.values()) {
    const gw = b.listener.gateway;
    // A stable sort keeps the older route first, then rule order, among routes of equal precedence.
    const http: HttpRoute[] = [...b.http].sort((x, y) => comparePrecedence(x.rank, y.rank)).map((r) => r.route);
    const spec: VirtualServiceSpec = {
      hosts: [b.hostname],
      gateways: [b.listener.istioGateway],
      ...(http.length > 0 && { http }),
      ...(b.tls.length > 0 && { tls: b.tls }),
      ...(b.tcp.length > 0 && { tcp: b.tcp }),
    };
    if (http.length === 0 && b.tls.length === 0 && b.tcp.length === 0) continue;
    virtualServices.push({ namespace: gw.namespace, name: `${gw.name}-${b.listener.listener.name}-${n++}-istio-autogenerated-k8s-gateway`, creationTimestamp: gw.creationTimestamp, annotations: {}, spec });
  }
  const gateways = translated.flatMap((t) => t.istio.map((g) => ({ ...g, creationTimestamp: t.gateway.creationTimestamp, annotations: {} })));
  return { gateways, virtualServices, statuses };
}
