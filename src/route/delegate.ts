/**
 * Istio's VirtualService delegation (pilot/pkg/model/virtualservice.go): a root's http route that names a delegate
 * is replaced by the delegate's routes, each with its match ANDed with the root's (every delegate match entry must
 * fit inside some root entry, else that delegate route is dropped), and inheriting the root route's settings it
 * does not set itself. A delegate that is missing or not exported to the root's namespace drops just that route.
 */
import type { HttpMatchRequest, HttpRoute, VirtualServiceSpec, VsStringMatch } from '../config/kinds/virtual-service.js';

export interface VirtualServiceRef {
  namespace: string;
  name: string;
  spec: VirtualServiceSpec;
}

/** Istio's visibility: exportTo absent or `*` is everyone, `.` the own namespace. */
export function exportedTo(vs: VirtualServiceRef, namespace: string): boolean {
  const list = vs.spec.exportTo;
  if (!list || list.length === 0) return true;
  return list.some((e) => e === '*' || e === namespace || (e === '.' && vs.namespace === namespace));
}

/** The root's http routes with every delegate merged in; `find` looks a VirtualService up by namespace and name. */
export function mergeDelegates(root: VirtualServiceRef, find: (namespace: string, name: string) => VirtualServiceRef | undefined): HttpRoute[] {
  const out: HttpRoute[] = [];
  for (const route of root.spec.http ?? []) {
    if (!route.delegate) {
      out.push(route);
      continue;
    }
    const delegate = find(route.delegate.namespace ?? root.namespace, route.delegate.name);
    // A delegate has no hosts of its own; one that has is a root and is not merged.
    if (!delegate || (delegate.spec.hosts ?? []).length > 0 || !exportedTo(delegate, root.namespace)) continue;
    for (const sub of delegate.spec.http ?? []) {
      const merged = mergeRoute(route, sub);
      if (merged) out.push(merged);
    }
  }
  return out;
}

function mergeRoute(root: HttpRoute, sub: HttpRoute): HttpRoute | undefined {
  const match = mergeMatches(root.match ?? [], sub.match ?? []);
  if (match === undefined) return undefined;
  const name = sub.name === undefined || sub.name === '' ? root.name : root.name ? `${root.name}-${sub.name}` : sub.name;
  const { delegate: _omit, ...inherited } = root;
  return { ...inherited, ...sub, name, match, route: sub.route, redirect: sub.redirect };
}

/** Each delegate entry merged with every root entry it does not conflict with; undefined when one fits none. */
function mergeMatches(root: HttpMatchRequest[], sub: HttpMatchRequest[]): HttpMatchRequest[] | undefined {
  if (root.length === 0) return sub;
  if (sub.length === 0) return root;
  const out: HttpMatchRequest[] = [];
  for (const s of sub) {
    const fits = root.filter((r) => !conflicts(r, s));
    if (fits.length === 0) return undefined;
    for (const r of fits) out.push(mergeMatch(r, s));
  }
  return out;
}

function mergeMatch(root: HttpMatchRequest, sub: HttpMatchRequest): HttpMatchRequest {
  const name = !sub.name ? root.name : root.name ? `${root.name}-${sub.name}` : sub.name;
  return {
    ...sub,
    name,
    uri: sub.uri ?? root.uri,
    scheme: sub.scheme ?? root.scheme,
    method: sub.method ?? root.method,
    authority: sub.authority ?? root.authority,
    headers: mergeMaps(root.headers, sub.headers),
    withoutHeaders: mergeMaps(root.withoutHeaders, sub.withoutHeaders),
    queryParams: mergeMaps(root.queryParams, sub.queryParams),
    port: sub.port ?? root.port,
    sourceLabels: mergeMaps(root.sourceLabels, sub.sourceLabels),
    sourceNamespace: sub.sourceNamespace || root.sourceNamespace,
    gateways: sub.gateways && sub.gateways.length > 0 ? sub.gateways : root.gateways,
    statPrefix: sub.statPrefix || root.statPrefix,
  };
}

function mergeMaps<V>(a: Record<string, V> | undefined, b: Record<string, V> | undefined): Record<string, V> | undefined {
  return a === undefined && b === undefined ? undefined : { ...a, ...b };
}

/** Istio's hasConflict: the delegate entry must ask for a subset of what the root entry admits. */
function conflicts(root: HttpMatchRequest, leaf: HttpMatchRequest): boolean {
  const pairs: Array<[VsStringMatch | undefined, VsStringMatch | undefined]> = [
    [root.uri, leaf.uri],
    [root.scheme, leaf.scheme],
    [root.method, leaf.method],
    [root.authority, leaf.authority],
  ];
  for (const [k, v] of Object.entries(leaf.headers ?? {})) pairs.push([root.headers?.[k], v]);
  for (const [k, v] of Object.entries(leaf.withoutHeaders ?? {})) pairs.push([root.withoutHeaders?.[k], v]);
  for (const [k, v] of Object.entries(leaf.queryParams ?? {})) pairs.push([root.queryParams?.[k], v]);
  if (pairs.some(([r, l]) => stringMatchConflict(r, l))) return true;
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  if (root.port !== undefined && leaf.port !== undefined && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) {
    const rv = root.sourceLabels?.[k];
    if (rv !== undefined && rv !== v) return true;
  }
  const rg = root.gateways ?? [];
  const lg = leaf.gateways ?? [];
  return rg.length > 0 && lg.length > 0 && !lg.every((g) => rg.includes(g));
}

function stringMatchConflict(root: VsStringMatch | undefined, leaf: VsStringMatch | undefined): boolean {
  if (root === undefined || leaf === undefined) return false;
  const set = (m: VsStringMatch): boolean => Boolean(m.regex || m.prefix || m.exact);
  if (root.regex && set(leaf)) return true;
  if (leaf.regex && set(root)) return true;
  if (root.exact) return Boolean(leaf.prefix) || leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}
