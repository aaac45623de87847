/**
 * `weft route check` output: a few labelled lines a person reads top to bottom in the order the request path
 * decides (route, destinations, their clusters' policy, then what the later layers do), or the explanation as JSON.
 */
import type { FaultPolicy, HeaderOperations, HeaderRules, HttpMatch, StringMatch, TrafficPolicyConfig } from '../proxyconfig/types.js';
import { formatTable } from '../cli/text-table.js';
import type { ClusterChoice, RouteExplanation } from './explain-route.js';

const UNLIMITED = 2 ** 32 - 1;

function duration(ms: number): string {
  if (ms === 0) return 'none';
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function limit(n: number): string {
  return n >= UNLIMITED ? 'unlimited' : String(n);
}

function stringMatch(m: StringMatch): string {
  if ('exact' in m) return `exact ${JSON.stringify(m.exact)}`;
  if ('prefix' in m) return `prefix ${JSON.stringify(m.prefix)}`;
  if ('regex' in m) return `regex ${JSON.stringify(m.regex)}`;
  return 'present';
}

export function describeMatch(m: HttpMatch | null): string {
  if (m === null) return 'any request';
  const parts: string[] = [];
  if (m.uri) parts.push(`uri ${stringMatch(m.uri)}${m.ignoreUriCase ? ' (any case)' : ''}`);
  if (m.method) parts.push(`method ${stringMatch(m.method)}`);
  if (m.authority) parts.push(`authority ${stringMatch(m.authority)}`);
  if (m.scheme) parts.push(`scheme ${stringMatch(m.scheme)}`);
  for (const [k, v] of Object.entries(m.headers ?? {})) parts.push(`header ${k} ${stringMatch(v)}`);
  for (const [k, v] of Object.entries(m.withoutHeaders ?? {})) parts.push(`without header ${k} ${stringMatch(v)}`);
  for (const [k, v] of Object.entries(m.queryParams ?? {})) parts.push(`query ${k} ${stringMatch(v)}`);
  if (m.port !== undefined) parts.push(`port ${m.port}`);
  return parts.length === 0 ? 'any request' : parts.join(', ');
}

export function describePolicy(p: TrafficPolicyConfig): string[] {
  const lb = p.loadBalancer;
  const hash = 'hashKey' in lb ? ` by ${Object.entries(lb.hashKey).map(([k, v]) => `${k} ${typeof v === 'object' ? v.name : String(v)}`).join('')}` : '';
  const pool = p.connectionPool;
  const od = p.outlierDetection;
  return [
    `load balancer ${lb.policy}${hash}`,
    `connection pool: maxConnections ${limit(pool.maxConnections)}, pending ${limit(pool.maxPendingRequests)}, requests ${limit(pool.maxRequests)}, retries ${limit(pool.maxRetries)}, per connection ${pool.maxRequestsPerConnection === 0 ? 'unlimited' : pool.maxRequestsPerConnection}, connect timeout ${duration(pool.connectTimeoutMs)}`,
    od === null
      ? 'outlier detection: off'
      : `outlier detection: consecutive 5xx ${od.consecutive5xx || 'off'}, gateway errors ${od.consecutiveGatewayErrors || 'off'}, interval ${duration(od.intervalMs)}, base ejection ${duration(od.baseEjectionTimeMs)}, max ejection ${od.maxEjectionPercent}%, min health ${od.minHealthPercent}%`,
    ...(p.tls === null ? [] : [`tls ${p.tls.mode}${p.tls.sni ? ` sni ${p.tls.sni}` : ''}`]),
  ];
}

function fault(f: FaultPolicy | null): string {
  if (f === null) return 'none';
  const parts: string[] = [];
  if (f.delay) parts.push(`delay ${duration(f.delay.fixedDelayMs)} for ${f.delay.percent}%`);
  if (f.abort) parts.push(`abort ${f.abort.httpStatus !== undefined ? `HTTP ${f.abort.httpStatus}` : `gRPC ${f.abort.grpcStatus ?? '?'}`} for ${f.abort.percent}%`);
  return parts.join('; ');
}

function ops(o: HeaderOperations | undefined): string[] {
  if (o === undefined) return [];
  return [...o.remove.map((n) => `remove ${n}`), ...o.set.map(([k, v]) => `set ${k}: ${v}`), ...o.add.map(([k, v]) => `add ${k}: ${v}`)];
}

function headers(h: HeaderRules | null): string {
  if (h === null) return 'none';
  const req = ops(h.request);
  const res = ops(h.response);
  const parts = [...(req.length ? [`request ${req.join(', ')}`] : []), ...(res.length ? [`response ${res.join(', ')}`] : [])];
  return parts.length ? parts.join('; ') : 'none';
}

function clusterCell(c: ClusterChoice): string {
  if (c.localReply) return `${c.localReply.status} ${c.localReply.flag} (${c.localReply.reason})`;
  return c.name ?? '-';
}

function endpointsCell(c: ClusterChoice): string {
  return c.endpoints === null ? '(files)' : String(c.endpoints.length);
}

export function formatExplanation(e: RouteExplanation, source: string): string {
  const lines: string[] = [];
  const label = (k: string, v: string): void => void lines.push(`${`${k}:`.padEnd(14)}${v}`);
  const r = e.request;
  const hdrs = Object.entries(r.headers).filter(([k]) => k !== 'host').map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(',') : v}`);
  label('proxy', `${e.proxy} (config ${e.configVersion}, ${source})`);
  label('request', `${r.method} ${r.scheme}://${r.authority}${r.path}${r.query === '' ? '' : `?${r.query}`}${hdrs.length ? ` [${hdrs.join('; ')}]` : ''}`);
  if (e.service) label('service', `${e.service.host}:${e.service.port}`);
  if (e.virtualHost) label('virtual host', `${e.virtualHost.domains.join(', ')} of Gateway ${e.virtualHost.gateway}, port ${e.virtualHost.port}`);
  if (e.rule) label('route', `VirtualService ${e.rule.virtualService} http[${e.rule.index}]${e.rule.name ? ` "${e.rule.name}"` : ''}, match ${e.rule.matchIndex < 0 ? '(none: every request)' : `[${e.rule.matchIndex}] ${describeMatch(e.rule.match)}`}`);
  else if (e.outcome === 'default-route') label('route', 'default route (no VirtualService for this service port)');
  else if (e.outcome === 'egress') label('route', `egress: ${e.egress?.serviceEntry ? `ServiceEntry ${e.egress.serviceEntry}` : `not in the registry, passed through (${e.egress?.trafficPolicy})`}`);
  if (e.localReply) {
    const where = e.localReply.location ? ` Location: ${e.localReply.location}` : '';
    label('answer', `${e.localReply.status}${e.localReply.flag ? ` ${e.localReply.flag}` : ''} from the proxy: ${e.localReply.reason}${where}`);
  }
  if (e.destinations.length > 0) {
    lines.push('destinations:');
    const rows = e.destinations.map((d) => [`${d.host}:${d.port}`, d.subset ?? '-', `${d.weight} (${Number(d.percent.toFixed(2))}%)`, clusterCell(d.cluster), d.cluster.destinationRules.join(',') || '-', endpointsCell(d.cluster), `${d.upstreamAuthority}${d.upstreamPath}`]);
    lines.push(...formatTable(['  HOST', 'SUBSET', 'WEIGHT', 'CLUSTER', 'DESTINATION RULE', 'ENDPOINTS', 'UPSTREAM REQUEST'], rows.map((row) => [`  ${row[0]}`, ...row.slice(1)])).trimEnd().split('\n'));
    for (const d of e.destinations) {
      if (d.cluster.policy === null) continue;
      lines.push(`traffic policy of ${d.cluster.name}:`);
      for (const p of describePolicy(d.cluster.policy)) lines.push(`  ${p}`);
      if (d.headers) lines.push(`  destination headers: ${headers(d.headers)}`);
    }
  }
  // What the later layers do; a request the proxy answers itself never reaches them.
  if (e.outcome === 'route' || e.outcome === 'default-route') {
    label('timeout', duration(e.timeoutMs));
    const rt = e.retries;
    label('retries', rt.attempts === 0 ? 'none' : `${rt.attempts} on ${rt.retryOn.join(',')}${rt.retriableStatusCodes.length ? ` (${rt.retriableStatusCodes.join(',')})` : ''}${rt.perTryTimeoutMs ? `, per try ${duration(rt.perTryTimeoutMs)}` : ''}${rt.istioDefault ? " (Istio's default)" : ''}`);
    label('fault', fault(e.fault));
    label('mirrors', e.mirrors.length === 0 ? 'none' : e.mirrors.map((m) => `${m.host}:${m.port}${m.subset ? ` subset ${m.subset}` : ''} ${m.percent}% → ${clusterCell(m.cluster)}`).join('; '));
    label('rewrite', e.rewrite === null ? 'none' : Object.entries(e.rewrite).map(([k, v]) => `${k} ${typeof v === 'string' ? v : `${v.match} → ${v.rewrite}`}`).join(', '));
    label('headers', headers(e.headers));
    if (e.cors) label('cors', `origins ${e.cors.allowOrigins.map(stringMatch).join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}
