/**
 * "Where would this request go from this proxy": the decision the proxy's own request path would take, read from
 * the proxy's own compiled config (src/proxy/config) with the shared route engine (src/route). The same lookups as
 * the outbound listener (service by host, then port), the gateway (virtual host by port and host), the route layer
 * (first matching rule; 404, redirect, direct response and CORS preflight answered here) and the endpoint layer
 * (the destination's cluster by host, port and subset; none is 503 NR). Nothing random is drawn: every weighted
 * destination, fault and mirror is reported with its percentage.
 */
import type { CompiledProxyConfig } from '../proxy/config/compiled-config.js';
import { parseAuthority } from '../proxy/http/authority.js';
import { authorityHost, matchRoutes } from '../route/http-route-match.js';
import type { CompiledRoute, MatchedRoute, RouteRequest } from '../route/http-route-match.js';
import { redirectFor } from '../route/redirect.js';
import { rewriteAuthority, rewritePath } from '../route/rewrite.js';
import { evaluateCors } from '../route/cors.js';
import { ISTIO_DEFAULT_RETRY } from '../route/virtual-service-routes.js';
import type { CorsPolicy, FaultPolicy, HeaderRules, HttpMatch, RetryPolicy, RouteDestination, TrafficPolicyConfig } from '../proxyconfig/types.js';

export interface CheckedRequest {
  /** Host, or host:port, as the app would send it. */
  authority: string;
  /** Without the query. */
  path: string;
  /** Raw, after `?`; '' for none. */
  query: string;
  method: string;
  scheme: 'http' | 'https';
  /** Lower-case names. */
  headers: Readonly<Record<string, string | string[]>>;
}

export interface ClusterChoice {
  /** Envoy's cluster name; null when the proxy has no cluster for this destination (503 NR). */
  name: string | null;
  /** namespace/name of each DestinationRule merged into it; empty: Istio's defaults. */
  destinationRules: string[];
  policy: TrafficPolicyConfig | null;
  /** Endpoint addresses; null when not known (files: pods have no addresses until they run). */
  endpoints: string[] | null;
  /** What the endpoint layer answers before any upstream: none when it can pick a host. */
  localReply: { status: 503; flag: 'NR' | 'UH'; reason: string } | null;
}

export interface DestinationChoice {
  host: string;
  port: number;
  subset: string | null;
  weight: number;
  /** Share of requests, in percent. */
  percent: number;
  /** Authority and path the upstream would receive. */
  upstreamAuthority: string;
  upstreamPath: string;
  headers: HeaderRules | null;
  cluster: ClusterChoice;
}

export interface MirrorChoice {
  host: string;
  port: number;
  subset: string | null;
  percent: number;
  cluster: ClusterChoice;
}

export type RouteOutcome =
  /** Routed by a VirtualService rule to `destinations`. */
  | 'route'
  /** No VirtualService for the service port: straight to the service. */
  | 'default-route'
  /** Answered by the proxy itself: see `localReply`. */
  | 'local-reply'
  /** Not a mesh service: egress (ServiceEntry or the outbound traffic policy) decides. */
  | 'egress';

export interface RouteExplanation {
  proxy: string;
  configVersion: string;
  request: CheckedRequest & { port: number };
  /** The mesh service and port a sidecar matched the request to. */
  service: { host: string; port: number } | null;
  /** At a gateway: the Gateway and domains of the virtual host chosen by port and host; null when none. */
  virtualHost: { gateway: string; domains: string[]; port: number } | null;
  outcome: RouteOutcome;
  localReply: { status: number; flag: string | null; reason: string; location?: string; body?: string } | null;
  /** The deciding rule; null for the default route and for requests no rule matched. */
  rule: { virtualService: string; index: number; name: string; matchIndex: number; match: HttpMatch | null } | null;
  destinations: DestinationChoice[];
  timeoutMs: number;
  retries: RetryPolicy & { istioDefault: boolean };
  fault: FaultPolicy | null;
  mirrors: MirrorChoice[];
  headers: HeaderRules | null;
  rewrite: { uri?: string; authority?: string; uriRegexRewrite?: { match: string; rewrite: string } } | null;
  cors: CorsPolicy | null;
  /** Outcome `egress`: the ServiceEntry (namespace/name) whose HTTP port takes the host, else the traffic policy. */
  egress: { serviceEntry: string | null; trafficPolicy: 'REGISTRY_ONLY' | 'ALLOW_ANY' } | null;
}

export interface ExplainOptions {
  /** False for configs compiled from files, whose pods have no addresses: an empty cluster is then not a 503. */
  endpointsKnown: boolean;
}

/** `namespace/name#index` of the VirtualService http[] entry a route came from. */
function ruleSource(source: string): { virtualService: string; index: number } {
  const hash = source.lastIndexOf('#');
  const index = hash < 0 ? NaN : Number(source.slice(hash + 1));
  return { virtualService: hash < 0 ? source : source.slice(0, hash), index: Number.isInteger(index) ? index : -1 };
}

/** The endpoint layer's lookup: the cluster of (host, port, subset), and what it answers when it cannot pick. */
function clusterFor(cfg: CompiledProxyConfig, host: string, port: number, subset: string | undefined, o: ExplainOptions): ClusterChoice {
  const binding = cfg.cluster(host, port, subset);
  // A ServiceEntry host leaves by the entry's rules, as the proxy's external-destination layer sends it.
  if (binding === undefined && cfg.externals.http(host, port) !== undefined) {
    return { name: `outbound|${port}||${host}`, destinationRules: [], policy: null, endpoints: null, localReply: null };
  }
  if (binding === undefined) {
    const what = subset === undefined ? `${host}:${port}` : `subset ${subset} of ${host}:${port}`;
    return { name: null, destinationRules: [], policy: null, endpoints: [], localReply: { status: 503, flag: 'NR', reason: `no cluster for ${what}: no healthy upstream` } };
  }
  const endpoints = o.endpointsKnown ? [...binding.endpoints.keys()] : null;
  return {
    name: binding.config.name,
    destinationRules: binding.config.destinationRules,
    policy: binding.config.policy,
    endpoints,
    localReply: endpoints?.length === 0 ? { status: 503, flag: 'UH', reason: 'no endpoint in the cluster: no healthy upstream' } : null,
  };
}

function routeRequest(req: CheckedRequest, port: number): RouteRequest {
  return { path: req.path, query: req.query, method: req.method, authority: req.authority, scheme: req.scheme, port, headers: req.headers };
}

function base(cfg: CompiledProxyConfig, req: CheckedRequest, port: number): RouteExplanation {
  const p = cfg.raw.proxy;
  return {
    proxy: `${p.role}/${p.namespace}/${p.name}`,
    configVersion: cfg.version,
    request: { ...req, port },
    service: null,
    virtualHost: null,
    outcome: 'local-reply',
    localReply: null,
    rule: null,
    destinations: [],
    timeoutMs: 0,
    retries: { ...ISTIO_DEFAULT_RETRY, istioDefault: true },
    fault: null,
    mirrors: [],
    headers: null,
    rewrite: null,
    cors: null,
    egress: null,
  };
}

function sameRetryPolicy(a: RetryPolicy, b: RetryPolicy): boolean {
  const list = (x: readonly (string | number)[]): string => [...x].sort().join(',');
  return (
    a.attempts === b.attempts &&
    a.perTryTimeoutMs === b.perTryTimeoutMs &&
    list(a.retryOn) === list(b.retryOn) &&
    list(a.retriableStatusCodes) === list(b.retriableStatusCodes) &&
    a.retryRemoteLocalities === b.retryRemoteLocalities &&
    a.retryIgnorePreviousHosts === b.retryIgnorePreviousHosts &&
    a.backoffMs === b.backoffMs
  );
}

/** The rule's own actions, before any answer: what the later layers would do with the request. */
function describeRule(cfg: CompiledProxyConfig, out: RouteExplanation, entry: MatchedRoute, o: ExplainOptions): void {
  const r = entry.rule.route;
  const { virtualService, index } = ruleSource(r.source);
  out.rule = { virtualService, index, name: r.name, matchIndex: entry.matchIndex, match: entry.match ?? null };
  out.timeoutMs = r.timeoutMs;
  // The compile writes Istio's default out when a rule sets none: say so when that is what it holds.
  const retries = r.retries ?? ISTIO_DEFAULT_RETRY;
  out.retries = { ...retries, istioDefault: sameRetryPolicy(retries, ISTIO_DEFAULT_RETRY) };
  out.fault = r.fault ?? null;
  out.headers = r.headers ?? null;
  out.rewrite = r.rewrite ?? null;
  out.cors = r.cors ?? null;
  out.mirrors = (r.mirrors ?? []).map((m) => ({ host: m.host, port: m.port, subset: m.subset ?? null, percent: m.percent, cluster: clusterFor(cfg, m.host, m.port, m.subset, o) }));
}

function destinationsOf(cfg: CompiledProxyConfig, entry: MatchedRoute, req: CheckedRequest, o: ExplainOptions): DestinationChoice[] {
  const dests: readonly RouteDestination[] = entry.rule.route.destinations;
  const total = dests.reduce((sum, d) => sum + d.weight, 0);
  const query = req.query === '' ? '' : `?${req.query}`;
  return dests.map((d) => ({
    host: d.host,
    port: d.port,
    subset: d.subset ?? null,
    weight: d.weight,
    percent: total === 0 ? 0 : (100 * d.weight) / total,
    upstreamAuthority: rewriteAuthority(entry, d, req.authority),
    upstreamPath: rewritePath(entry, req.path) + query,
    headers: d.headers ?? null,
    cluster: clusterFor(cfg, d.host, d.port, d.subset, o),
  }));
}

/** The route layer's decision on the request's routes; `routes` undefined is the default route to `service`. */
function decide(cfg: CompiledProxyConfig, out: RouteExplanation, routes: readonly CompiledRoute[] | undefined, req: CheckedRequest, port: number, o: ExplainOptions): RouteExplanation {
  const query = req.query === '' ? '' : `?${req.query}`;
  if (routes === undefined) {
    const svc = out.service!;
    out.outcome = 'default-route';
    out.destinations = [
      { host: svc.host, port: svc.port, subset: null, weight: 100, percent: 100, upstreamAuthority: req.authority, upstreamPath: req.path + query, headers: null, cluster: clusterFor(cfg, svc.host, svc.port, undefined, o) },
    ];
    return out;
  }
  const rr = routeRequest(req, port);
  const entry = matchRoutes(routes, rr);
  if (entry === undefined) {
    out.localReply = { status: 404, flag: 'NR', reason: 'no route matched' };
    return out;
  }
  describeRule(cfg, out, entry, o);
  const redirect = redirectFor(entry, rr, req.query);
  if (redirect) {
    out.localReply = { status: redirect.status, flag: null, reason: 'redirect', location: redirect.location };
    return out;
  }
  const direct = entry.rule.route.directResponse;
  if (direct) {
    out.localReply = { status: direct.status, flag: null, reason: 'direct response', body: entry.rule.directBody?.toString('utf8') ?? '' };
    return out;
  }
  if (evaluateCors(entry.rule.cors, req.method, req.headers).kind === 'preflight') {
    out.localReply = { status: 200, flag: null, reason: 'CORS preflight answered by the proxy' };
    return out;
  }
  out.destinations = destinationsOf(cfg, entry, req, o);
  if (out.destinations.every((d) => d.weight === 0)) {
    out.localReply = { status: 503, flag: 'NR', reason: 'no destination with weight: no healthy upstream' };
    return out;
  }
  out.outcome = 'route';
  return out;
}

/** Explains the request as the proxy of `cfg` would handle it, from its sidecar outbound or its gateway listener. */
export function explainRoute(cfg: CompiledProxyConfig, req: CheckedRequest, o: ExplainOptions = { endpointsKnown: true }): RouteExplanation {
  const parsed = parseAuthority(req.authority);
  const port = parsed?.port ?? (req.scheme === 'https' ? 443 : 80);
  const out = base(cfg, req, port);
  if (parsed === undefined) {
    out.localReply = { status: 400, flag: null, reason: `invalid authority "${req.authority}"` };
    return out;
  }
  if (cfg.raw.proxy.role === 'gateway') {
    const vh = cfg.virtualHost(port, authorityHost(req.authority));
    out.virtualHost = vh === undefined ? null : { gateway: vh.gateway, domains: vh.domains, port };
    // No virtual host: no routes and no default destination, so the gateway answers 404.
    return decide(cfg, out, vh?.routes ?? [], req, port, o);
  }
  const service = cfg.service(parsed.host);
  if (service === undefined) {
    // The egress listener's lookup: a ServiceEntry HTTP port by host and port, else the outbound traffic policy.
    const entry = cfg.externals.http(parsed.host, port);
    out.egress = { serviceEntry: entry?.source ?? null, trafficPolicy: cfg.trafficPolicy };
    if (entry === undefined && cfg.trafficPolicy === 'REGISTRY_ONLY') {
      out.localReply = { status: 502, flag: null, reason: `${parsed.host}:${port} is neither a mesh service nor a ServiceEntry (REGISTRY_ONLY)` };
    } else out.outcome = 'egress';
    return out;
  }
  const balanced = service.ports.get(port);
  out.service = { host: service.host, port };
  if (balanced === undefined) {
    out.localReply = { status: 404, flag: null, reason: `service ${service.host} has no port ${port}` };
    return out;
  }
  return decide(cfg, out, balanced.routes, req, port, o);
}
