/**
 * A VirtualService turned into the ProxyConfig route contract for one proxy and one port, as Istio's
 * BuildHTTPRoutesForVirtualService does: match entries for another port, for gateways the proxy is not, or for
 * source workloads it is not are dropped (a rule whose entries all drop goes with them); destination hosts are
 * resolved in the VirtualService's namespace; a destination without a port takes the service's only port, else the
 * listener port; Istio's defaults are written out (retries, mirror 100%, redirect 301). Pure: the control plane and
 * `weft route check` both call it.
 */
import { tryParseDuration } from '../config/duration.js';
import type { Destination, HttpMatchRequest, HttpRoute as VsHttpRoute, Headers, TcpRoute, TlsRoute, VsStringMatch } from '../config/kinds/virtual-service.js';
import { GRPC_STATUS } from '../config/kinds/http-route-policies.js';
import type { HeaderOperations, HeaderRules, HttpMatch, HttpRoute, L4Route, RetryPolicy, StringMatch } from '../proxyconfig/types.js';

export interface RouteContext {
  /** What this proxy is as a gateway: `mesh` for sidecars, `namespace/name` of each Gateway it serves. */
  gateways: ReadonlySet<string>;
  /** The port the routes are built for (service port for sidecars, server port for gateways). */
  port: number;
  /** The proxy's own labels and namespace, for `sourceLabels` and `sourceNamespace`. */
  labels: Readonly<Record<string, string>>;
  namespace: string;
  /** A destination host as written → FQDN, in the VirtualService's namespace. */
  resolveHost(host: string, namespace: string): string;
  /** The ports of a service by FQDN, when known. */
  servicePorts(host: string): readonly number[] | undefined;
}

export interface SourceVirtualService {
  namespace: string;
  name: string;
  /** The http routes, delegates already merged (see mergeDelegates). */
  http: readonly VsHttpRoute[];
}

/** Istio's retry policy for a route that sets none (MeshConfig's defaultHttpRetryPolicy unset). */
export const ISTIO_DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 2,
  perTryTimeoutMs: 0,
  retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'],
  retriableStatusCodes: [503],
  retryRemoteLocalities: false,
  retryIgnorePreviousHosts: true,
  backoffMs: 0,
});

const ms = (d: string | undefined): number => (d === undefined ? 0 : Math.round(tryParseDuration(d) ?? 0));

/** `name` means the Gateway in the VirtualService's namespace; `mesh` and `ns/name` are taken as written. */
export function resolveGatewayName(ref: string, namespace: string): string {
  return ref === 'mesh' || ref.includes('/') ? ref : `${namespace}/${ref}`;
}

function entryApplies(m: HttpMatchRequest, vsNamespace: string, ctx: RouteContext): boolean {
  if (m.port !== undefined && m.port !== ctx.port) return false;
  if (m.gateways && m.gateways.length > 0) return m.gateways.some((g) => ctx.gateways.has(resolveGatewayName(g, vsNamespace)));
  for (const [k, v] of Object.entries(m.sourceLabels ?? {})) if (ctx.labels[k] !== v) return false;
  return !m.sourceNamespace || m.sourceNamespace === ctx.namespace;
}

export function translateHttpRoutes(vs: SourceVirtualService, ctx: RouteContext): HttpRoute[] {
  const out: HttpRoute[] = [];
  vs.http.forEach((r, i) => {
    const written = r.match ?? [];
    const kept = written.filter((m) => entryApplies(m, vs.namespace, ctx));
    if (written.length > 0 && kept.length === 0) return;
    out.push(translateRule(vs, r, i, kept, ctx));
  });
  return out;
}

function translateRule(vs: SourceVirtualService, r: VsHttpRoute, index: number, match: HttpMatchRequest[], ctx: RouteContext): HttpRoute {
  const dest = (d: Destination): { host: string; port: number; subset?: string } => {
    const host = ctx.resolveHost(d.host, vs.namespace);
    const ports = ctx.servicePorts(host);
    const port = d.port?.number ?? (ports && ports.length === 1 ? ports[0]! : ctx.port);
    return d.subset ? { host, port, subset: d.subset } : { host, port };
  };
  const split = r.route ?? [];
  const destinations = split
    // With several destinations a zero weight is never chosen; Istio leaves it out.
    .filter((d) => split.length === 1 || (d.weight ?? 0) > 0)
    .map((d) => {
      const headers = headerRules(d.headers);
      const authority = authorityOf(d.headers);
      return { ...dest(d.destination), weight: split.length === 1 ? 100 : (d.weight ?? 0), ...(headers && { headers }), ...(authority && { authority }) };
    });
  const routeAuthority = r.rewrite?.authority || authorityOf(r.headers);
  const out: HttpRoute = {
    source: `${vs.namespace}/${vs.name}#${index}`,
    name: r.name ?? '',
    match: match.map(translateMatch),
    destinations: r.redirect || r.directResponse ? [] : destinations,
    timeoutMs: ms(r.timeout),
  };
  if (r.rewrite?.uri || r.rewrite?.uriRegexRewrite || routeAuthority) {
    out.rewrite = {
      ...(r.rewrite?.uri && { uri: r.rewrite.uri }),
      ...(routeAuthority && { authority: routeAuthority }),
      ...(r.rewrite?.uriRegexRewrite && { uriRegexRewrite: r.rewrite.uriRegexRewrite }),
    };
  }
  if (r.redirect) {
    const rd = r.redirect;
    out.redirect = {
      ...(rd.uri && { uri: rd.uri }),
      ...(rd.prefixRewrite && { prefixRewrite: rd.prefixRewrite }),
      ...(rd.authority && { authority: rd.authority }),
      ...(rd.scheme && { scheme: rd.scheme }),
      ...(rd.port !== undefined ? { port: rd.port } : rd.derivePort === 'FROM_REQUEST_PORT' ? { port: 'request' as const } : {}),
      code: (rd.redirectCode || 301) as 301 | 302 | 303 | 307 | 308,
    };
  }
  if (r.directResponse) {
    const b = r.directResponse.body;
    out.directResponse = {
      status: r.directResponse.status,
      ...(b?.string !== undefined ? { body: { string: b.string } } : b?.bytes !== undefined ? { body: { base64: b.bytes } } : {}),
    };
  }
  const headers = headerRules(r.headers);
  if (headers) out.headers = headers;
  if (!r.redirect && !r.directResponse) out.retries = retryPolicy(r.retries);
  if (r.fault) out.fault = faultPolicy(r.fault);
  const mirrors = mirrorsOf(r).map((m) => ({ ...dest(m.destination), percent: m.percent }));
  if (mirrors.length > 0) out.mirrors = mirrors;
  if (r.corsPolicy) {
    const c = r.corsPolicy;
    out.cors = {
      allowOrigins: c.allowOrigins ? c.allowOrigins.map((m) => toStringMatch(m)) : (c.allowOrigin ?? []).map((exact) => ({ exact })),
      allowMethods: c.allowMethods ?? [],
      allowHeaders: c.allowHeaders ?? [],
      exposeHeaders: c.exposeHeaders ?? [],
      ...(c.maxAge !== undefined && { maxAgeSeconds: Math.floor(ms(c.maxAge) / 1000) }),
      ...(c.allowCredentials !== undefined && { allowCredentials: c.allowCredentials }),
      unmatchedPreflights: c.unmatchedPreflights === 'IGNORE' ? 'IGNORE' : 'FORWARD',
    };
  }
  return out;
}

/** `mirror` with mirrorPercentage (or the deprecated mirrorPercent), or `mirrors`; 100% when unset, none at 0. */
function mirrorsOf(r: VsHttpRoute): Array<{ destination: Destination; percent: number }> {
  if (r.mirror) {
    const percent = r.mirrorPercentage?.value ?? r.mirrorPercent ?? 100;
    return percent > 0 ? [{ destination: r.mirror, percent }] : [];
  }
  return (r.mirrors ?? []).map((m) => ({ destination: m.destination, percent: m.percentage?.value ?? 100 })).filter((m) => m.percent > 0);
}

function retryPolicy(r: VsHttpRoute['retries']): RetryPolicy {
  if (r === undefined) return ISTIO_DEFAULT_RETRY;
  const attempts = r.attempts ?? 0;
  if (attempts <= 0) return { ...ISTIO_DEFAULT_RETRY, attempts: 0, retryOn: [], retryIgnorePreviousHosts: false };
  const entries = r.retryOn === undefined ? undefined : r.retryOn.split(',').map((e) => e.trim()).filter((e) => e !== '');
  // Without retryOn the default's conditions stay, its 503 included (Istio's ConvertPolicy starts from DefaultPolicy).
  const codes = entries === undefined ? [...ISTIO_DEFAULT_RETRY.retriableStatusCodes] : entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const conditions = entries ? entries.filter((e) => !/^\d+$/.test(e)) : [...ISTIO_DEFAULT_RETRY.retryOn];
  // Status codes in retryOn imply Envoy's retriable-status-codes condition.
  if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
  return {
    attempts,
    perTryTimeoutMs: ms(r.perTryTimeout),
    retryOn: conditions,
    retriableStatusCodes: codes,
    retryRemoteLocalities: r.retryRemoteLocalities ?? false,
    retryIgnorePreviousHosts: r.retryIgnorePreviousHosts ?? true,
    backoffMs: ms(r.backoff),
  };
}

function faultPolicy(f: NonNullable<VsHttpRoute['fault']>): NonNullable<HttpRoute['fault']> {
  const out: NonNullable<HttpRoute['fault']> = {};
  if (f.delay?.fixedDelay !== undefined) out.delay = { fixedDelayMs: ms(f.delay.fixedDelay), percent: f.delay.percentage?.value ?? f.delay.percent ?? 0 };
  if (f.abort && (f.abort.httpStatus !== undefined || f.abort.grpcStatus !== undefined)) {
    out.abort = {
      ...(f.abort.httpStatus !== undefined && { httpStatus: f.abort.httpStatus }),
      ...(f.abort.grpcStatus !== undefined && { grpcStatus: GRPC_STATUS[f.abort.grpcStatus] }),
      percent: f.abort.percentage?.value ?? 0,
    };
  }
  return out;
}

const isAuthorityName = (n: string): boolean => n.toLowerCase() === 'host' || n.toLowerCase() === ':authority';

/** The authority a set of request header operations asks for: `set` wins over `add`, as Istio translates. */
function authorityOf(h: Headers | undefined): string | undefined {
  const find = (m: Record<string, string> | undefined): string | undefined => Object.entries(m ?? {}).find(([k]) => isAuthorityName(k))?.[1];
  return find(h?.request?.set) ?? find(h?.request?.add);
}

function operations(ops: { set?: Record<string, string>; add?: Record<string, string>; remove?: string[] } | undefined): HeaderOperations | undefined {
  if (!ops) return undefined;
  // Host and pseudo-headers are not header operations: the authority travels as a rewrite.
  const plain = (m: Record<string, string> | undefined): Array<[string, string]> =>
    Object.entries(m ?? {})
      .filter(([k]) => !k.startsWith(':') && k.toLowerCase() !== 'host')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { set: plain(ops.set), add: plain(ops.add), remove: ops.remove ?? [] };
}

function headerRules(h: Headers | undefined): HeaderRules | undefined {
  if (!h) return undefined;
  const request = operations(h.request);
  const response = operations(h.response);
  return { ...(request && { request }), ...(response && { response }) };
}

function toStringMatch(m: VsStringMatch): StringMatch {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  // Istio's `regex: "*"` (and an empty StringMatch) is a presence test, not a regex.
  if (m.regex !== undefined && m.regex !== '*') return { regex: m.regex };
  return { present: true };
}

function toMatchMap(map: Record<string, VsStringMatch> | undefined, lowerKeys: boolean): Record<string, StringMatch> | undefined {
  if (!map) return undefined;
  const out: Record<string, StringMatch> = {};
  for (const [k, v] of Object.entries(map)) out[lowerKeys ? k.toLowerCase() : k] = toStringMatch(v);
  return out;
}

export function translateMatch(m: HttpMatchRequest): HttpMatch {
  const out: HttpMatch = {};
  if (m.uri) out.uri = toStringMatch(m.uri);
  if (m.method) out.method = toStringMatch(m.method);
  if (m.authority) out.authority = toStringMatch(m.authority);
  if (m.scheme) out.scheme = toStringMatch(m.scheme);
  const headers = toMatchMap(m.headers, true);
  if (headers) out.headers = headers;
  const without = toMatchMap(m.withoutHeaders, true);
  if (without) out.withoutHeaders = without;
  const query = toMatchMap(m.queryParams, false);
  if (query) out.queryParams = query;
  if (m.ignoreUriCase) out.ignoreUriCase = true;
  if (m.name) out.name = m.name;
  if (m.statPrefix) out.statPrefix = m.statPrefix;
  return out;
}

/** TCP or TLS routes for a port, entries for other ports, gateways or source workloads dropped. */
export function translateL4Routes(
  vs: { namespace: string; name: string },
  routes: readonly (TcpRoute | TlsRoute)[],
  ctx: RouteContext,
): L4Route[] {
  const out: L4Route[] = [];
  routes.forEach((r, i) => {
    const written = r.match ?? [];
    const kept = written.filter((m) => {
      if (m.port !== undefined && m.port !== ctx.port) return false;
      if (m.gateways && m.gateways.length > 0) return m.gateways.some((g) => ctx.gateways.has(resolveGatewayName(g, vs.namespace)));
      for (const [k, v] of Object.entries(m.sourceLabels ?? {})) if (ctx.labels[k] !== v) return false;
      return !m.sourceNamespace || m.sourceNamespace === ctx.namespace;
    });
    if (written.length > 0 && kept.length === 0) return;
    const split = r.route;
    out.push({
      source: `${vs.namespace}/${vs.name}#${i}`,
      match: kept.map((m) => ({
        ...('sniHosts' in m && { sniHosts: m.sniHosts.map((h) => h.toLowerCase()) }),
        ...(m.destinationSubnets && m.destinationSubnets.length > 0 && { destinationSubnets: m.destinationSubnets }),
        ...(m.port !== undefined && { port: m.port }),
      })),
      destinations: split
        .filter((d) => split.length === 1 || (d.weight ?? 0) > 0)
        .map((d) => {
          const host = ctx.resolveHost(d.destination.host, vs.namespace);
          const ports = ctx.servicePorts(host);
          const port = d.destination.port?.number ?? (ports && ports.length === 1 ? ports[0]! : ctx.port);
          return { host, port, weight: split.length === 1 ? 100 : (d.weight ?? 0), ...(d.destination.subset && { subset: d.destination.subset }) };
        }),
    });
  });
  return out;
}
