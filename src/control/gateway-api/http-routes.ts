/**
 * HTTPRoute and GRPCRoute rules to Istio VirtualService http routes, as Istio's conversion does: one Istio route
 * per match (so routes can be ordered by the spec's precedence), filters as headers, redirect, rewrite and
 * mirrors, weighted destinations, 500 when no backend can take the request.
 *
 * PathPrefix matches whole path segments (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`): Istio asks Envoy for
 * a path-separated prefix; here the one match becomes two Istio routes, the exact path and the prefix with a
 * trailing `/`, so the shared route engine needs nothing new.
 */
import type { Headers, HttpMatchRequest, HttpRoute, HttpRouteDestination, VsStringMatch } from '../../config/kinds/virtual-service.js';
import type { HeaderModifier, MirrorFilter, ValueMatch } from '../../config/kinds/gateway-api/shared-fields.js';
import type { HttpRouteFilter, HttpRouteMatch, HttpRouteRule } from '../../config/kinds/gateway-api/http-route.js';
import type { RefProblem } from './conditions.js';
import { resolveBackend } from './backends.js';
import type { GatewayApiWorld, Obj } from './world.js';

/** An Istio route with the Gateway API match it came from, for sorting by precedence. */
export interface RankedRoute {
  route: HttpRoute;
  rank: PrecedenceKey;
}

/** The spec's precedence within a hostname: path kind and length, method, header count, query count. */
export interface PrecedenceKey {
  pathKind: number;
  pathLength: number;
  method: boolean;
  headers: number;
  query: number;
}

export interface RuleTranslation {
  routes: RankedRoute[];
  problems: RefProblem[];
  /** A filter this controller cannot apply: the route is not Accepted. */
  unsupported: string | undefined;
}

type Backend = { name: string; namespace?: string | undefined; group?: string | undefined; kind?: string | undefined; port?: number | undefined; weight?: number | undefined; filters?: readonly { type: string; requestHeaderModifier?: HeaderModifier | undefined; responseHeaderModifier?: HeaderModifier | undefined }[] | undefined };

const PATH_RANK = { Exact: 3, PathPrefix: 2, RegularExpression: 1 } as const;

export function comparePrecedence(a: PrecedenceKey, b: PrecedenceKey): number {
  return b.pathKind - a.pathKind || b.pathLength - a.pathLength || Number(b.method) - Number(a.method) || b.headers - a.headers || b.query - a.query;
}

function valueMatch(m: ValueMatch): VsStringMatch {
  return m.type === 'RegularExpression' ? { regex: m.value } : { exact: m.value };
}

export function valueMatches(list: readonly ValueMatch[] | undefined, fold: boolean): Record<string, VsStringMatch> | undefined {
  if (list === undefined || list.length === 0) return undefined;
  return Object.fromEntries(list.map((m) => [fold ? m.name.toLowerCase() : m.name, valueMatch(m)]));
}

function headerOps(h: HeaderModifier): NonNullable<Headers['request']> {
  // "Subsequent entries with an equivalent header name MUST be ignored": names are unique once validated.
  const map = (l: readonly { name: string; value: string }[] | undefined): Record<string, string> | undefined =>
    l === undefined || l.length === 0 ? undefined : Object.fromEntries(l.map((e) => [e.name.toLowerCase(), e.value]));
  const set = map(h.set);
  const add = map(h.add);
  const remove = h.remove?.map((n) => n.toLowerCase());
  return { ...(set && { set }), ...(add && { add }), ...(remove && remove.length > 0 && { remove }) };
}

/** The Istio matches one Gateway API match becomes (two for a segment prefix), each with its precedence key. */
function expandMatch(m: HttpRouteMatch): ExpandedMatch[] {
  const type = m.path?.type ?? 'PathPrefix';
  const value = m.path?.value ?? '/';
  const rest: HttpMatchRequest = {
    ...(m.method && { method: { exact: m.method } }),
    ...(valueMatches(m.headers, true) && { headers: valueMatches(m.headers, true) }),
    ...(valueMatches(m.queryParams, false) && { queryParams: valueMatches(m.queryParams, false) }),
  };
  // The spec's rule: a trailing "/" of a prefix is ignored.
  const base = type === 'PathPrefix' && value !== '/' ? value.replace(/\/+$/, '') : value;
  const rank: PrecedenceKey = { pathKind: PATH_RANK[type], pathLength: base.length, method: m.method !== undefined, headers: m.headers?.length ?? 0, query: m.queryParams?.length ?? 0 };
  if (type === 'Exact') return [{ match: { uri: { exact: value }, ...rest }, rank, prefixBase: undefined }];
  if (type === 'RegularExpression') return [{ match: { uri: { regex: value }, ...rest }, rank, prefixBase: undefined }];
  if (base === '/') return [{ match: { uri: { prefix: '/' }, ...rest }, rank, prefixBase: '' }];
  return [
    { match: { uri: { exact: base }, ...rest }, rank, prefixBase: undefined },
    { match: { uri: { prefix: `${base}/` }, ...rest }, rank, prefixBase: base },
  ];
}

/**
 * ReplacePrefixMatch as a replacement of the Istio match's prefix: `/foo/` (of PathPrefix /foo) by `/bar/`, the
 * exact `/foo` by `/bar`; a replacement of `/` drops the prefix.
 */
function prefixReplacement(replacement: string, prefixBase: string | undefined): string {
  const trimmed = replacement.replace(/\/+$/, '');
  if (prefixBase === undefined) return trimmed === '' ? '/' : trimmed;
  return `${trimmed}/`;
}

function mirrorPercent(m: MirrorFilter): number | undefined {
  if (m.fraction) return (100 * m.fraction.numerator) / (m.fraction.denominator ?? 100);
  return m.percent;
}

export interface RuleSource {
  route: Obj<unknown>;
  filters: readonly HttpRouteFilter[];
  backendRefs: readonly Backend[];
  timeouts?: HttpRouteRule['timeouts'];
}

/** The parts of an Istio route every match of a rule shares: filters and destinations. */
function ruleActions(w: GatewayApiWorld, src: RuleSource, problems: RefProblem[]): { action: HttpRoute; unsupported: string | undefined; redirectPath?: NonNullable<HttpRouteFilter['requestRedirect']>['path']; rewritePath?: NonNullable<HttpRouteFilter['urlRewrite']>['path'] } {
  const from = { kind: src.route.kind, namespace: src.route.namespace };
  const action: HttpRoute = {};
  const headers: Headers = {};
  let unsupported: string | undefined;
  let redirectPath;
  let rewritePath;
  for (const f of src.filters) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        headers.request = headerOps(f.requestHeaderModifier!);
        break;
      case 'ResponseHeaderModifier':
        headers.response = headerOps(f.responseHeaderModifier!);
        break;
      case 'RequestRedirect': {
        const r = f.requestRedirect!;
        // Gateway API's default redirect is 302 (Istio's VirtualService default is 301).
        action.redirect = { redirectCode: r.statusCode ?? 302, ...(r.scheme && { scheme: r.scheme }), ...(r.hostname && { authority: r.hostname }), ...(r.port !== undefined ? { port: r.port } : r.scheme ? {} : { derivePort: 'FROM_REQUEST_PORT' as const }) };
        redirectPath = r.path;
        break;
      }
      case 'URLRewrite':
        if (f.urlRewrite!.hostname) action.rewrite = { authority: f.urlRewrite!.hostname };
        rewritePath = f.urlRewrite!.path;
        break;
      case 'RequestMirror': {
        const m = f.requestMirror!;
        const r = resolveBackend(w, m.backendRef, from);
        if (!r.ok) problems.push(r.problem);
        else {
          const percent = mirrorPercent(m);
          (action.mirrors ??= []).push({ destination: r.destination, ...(percent !== undefined && { percentage: { value: percent } }) });
        }
        break;
      }
      case 'ExtensionRef':
        unsupported = 'ExtensionRef filters are not supported';
        break;
    }
  }
  if (headers.request || headers.response) action.headers = headers;
  if (src.timeouts?.request && src.timeouts.request !== '0s') action.timeout = src.timeouts.request;
  else if (src.timeouts?.backendRequest && src.timeouts.backendRequest !== '0s') action.timeout = src.timeouts.backendRequest;
  if (!action.redirect) {
    const live = src.backendRefs.filter((b) => (b.weight ?? 1) > 0);
    const destinations: HttpRouteDestination[] = [];
    let lost = 0;
    for (const b of live) {
      const r = resolveBackend(w, b, from);
      if (!r.ok) {
        problems.push(r.problem);
        lost += b.weight ?? 1;
        continue;
      }
      const bh: Headers = {};
      for (const f of b.filters ?? []) {
        if (f.type === 'RequestHeaderModifier') bh.request = headerOps(f.requestHeaderModifier!);
        if (f.type === 'ResponseHeaderModifier') bh.response = headerOps(f.responseHeaderModifier!);
      }
      destinations.push({ destination: r.destination, ...(live.length > 1 && { weight: b.weight ?? 1 }), ...((bh.request || bh.response) && { headers: bh }) });
    }
    // The spec: no backend with weight above 0, or none that resolves, answers 500.
    if (destinations.length === 0) action.directResponse = { status: 500 };
    else {
      // The share of requests the unresolved backends would have taken answers 500 (the spec), the rest splits
      // among the others by weight: Istio's fault abort expresses exactly that with the shared engine.
      const kept = live.reduce((sum, b) => sum + (b.weight ?? 1), 0) - lost;
      if (lost > 0) action.fault = { abort: { httpStatus: 500, percentage: { value: (100 * lost) / (lost + kept) } } };
      action.route = destinations;
    }
  }
  return { action, unsupported, redirectPath, rewritePath };
}

export interface ExpandedMatch {
  match: HttpMatchRequest;
  rank: PrecedenceKey;
  prefixBase: string | undefined;
}

/** One HTTPRoute rule: its Istio routes (one per match, two for a segment prefix), unordered yet. */
export function translateHttpRule(w: GatewayApiWorld, src: RuleSource, matches: readonly HttpRouteMatch[], name: string): RuleTranslation {
  return translateRule(w, src, (matches.length === 0 ? [{}] : matches).flatMap(expandMatch), name);
}

/** A rule whose matches are already Istio matches (GRPCRoute's). */
export function translateRule(w: GatewayApiWorld, src: RuleSource, expanded: readonly ExpandedMatch[], name: string): RuleTranslation {
  const problems: RefProblem[] = [];
  const { action, unsupported, redirectPath, rewritePath } = ruleActions(w, src, problems);
  const routes: RankedRoute[] = [];
  {
    for (const e of expanded) {
      const route: HttpRoute = { name, match: [e.match], ...action };
      if (redirectPath) {
        const redirect = { ...route.redirect! };
        if (redirectPath.type === 'ReplaceFullPath') redirect.uri = redirectPath.replaceFullPath ?? '/';
        else redirect.prefixRewrite = prefixReplacement(redirectPath.replacePrefixMatch ?? '/', e.prefixBase);
        route.redirect = redirect;
      }
      if (rewritePath) {
        route.rewrite =
          rewritePath.type === 'ReplaceFullPath'
            ? { ...route.rewrite, uriRegexRewrite: { match: '/.*', rewrite: rewritePath.replaceFullPath ?? '/' } }
            : { ...route.rewrite, uri: prefixReplacement(rewritePath.replacePrefixMatch ?? '/', e.prefixBase) };
      }
      routes.push({ route, rank: e.rank });
    }
  }
  return { routes, problems, unsupported };
}
