/**
 * Istio's cross-field rules for a TrafficPolicy (validateTrafficPolicy and what it calls), where a field's own shape
 * cannot say enough: which settings exclude each other, what a mode requires, what Maglev and locality settings
 * must look like. Paths are relative to the policy, so one check serves a DestinationRule's top level, its subsets
 * and its port-level settings.
 */
import type { SpecIssue } from './spec-issue.js';
import type { ClientTlsSettings, ConnectionPoolSettings, LoadBalancerSettings, LocalityLbSetting, OutlierDetection, PortTrafficPolicy, TrafficPolicy } from './traffic-policy.js';

type Path = readonly (string | number)[];

/** Envoy refuses Maglev tables of this size or larger. */
const MAGLEV_TABLE_LIMIT = 5_000_011;

/** Istio's labels that a failover list already orders by; naming them in failoverPriority beside failover is refused. */
const TOPOLOGY_LABELS = new Set(['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone']);

export function checkTrafficPolicy(policy: TrafficPolicy | undefined, path: Path): SpecIssue[] {
  if (policy === undefined) return [];
  const issues: SpecIssue[] = [];
  const set = ['loadBalancer', 'connectionPool', 'outlierDetection', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol'].filter(
    (k) => policy[k as keyof TrafficPolicy] !== undefined,
  );
  if (set.length === 0) return [{ path: [...path], message: 'traffic policy must have at least one field' }];
  if (policy.tunnel !== undefined && policy.proxyProtocol !== undefined) {
    issues.push({ path: [...path, 'tunnel'], message: 'tunnel and proxyProtocol must not be set together' });
  }
  checkCommon(policy, path, issues);
  if (policy.tunnel !== undefined && !isFqdnOrIp(policy.tunnel.targetHost)) {
    issues.push({ path: [...path, 'tunnel', 'targetHost'], message: 'tunnel targetHost must be a fully qualified domain name or an IP address' });
  }
  (policy.portLevelSettings ?? []).forEach((p, i) => checkPortPolicy(p, [...path, 'portLevelSettings', i], issues));
  return issues;
}

function checkPortPolicy(p: PortTrafficPolicy, path: Path, issues: SpecIssue[]): void {
  if (p.port?.number === undefined) issues.push({ path: [...path, 'port'], message: 'port.number is required' });
  if (p.loadBalancer === undefined && p.connectionPool === undefined && p.outlierDetection === undefined && p.tls === undefined) {
    issues.push({ path: [...path], message: 'port traffic policy must have at least one of loadBalancer, connectionPool, outlierDetection, tls' });
  }
  checkCommon(p, path, issues);
}

function checkCommon(p: PortTrafficPolicy, path: Path, issues: SpecIssue[]): void {
  checkConnectionPool(p.connectionPool, [...path, 'connectionPool'], issues);
  checkOutlierDetection(p.outlierDetection, [...path, 'outlierDetection'], issues);
  checkLoadBalancer(p.loadBalancer, [...path, 'loadBalancer'], issues);
  checkTls(p.tls, [...path, 'tls'], issues);
}

function checkConnectionPool(pool: ConnectionPoolSettings | undefined, path: Path, issues: SpecIssue[]): void {
  if (pool === undefined) return;
  if (pool.tcp === undefined && pool.http === undefined) issues.push({ path: [...path], message: 'connection pool must have tcp or http settings' });
  if (pool.http?.h2UpgradePolicy === 'UPGRADE' && pool.http.useClientProtocol === true) {
    issues.push({ path: [...path, 'http', 'useClientProtocol'], message: 'useClientProtocol must not be true when h2UpgradePolicy is UPGRADE' });
  }
  const ka = pool.http?.http2KeepAlive;
  // Istio's API: both are required when http2KeepAlive is set.
  if (ka !== undefined) {
    for (const k of ['interval', 'timeout'] as const) if (ka[k] === undefined) issues.push({ path: [...path, 'http', 'http2KeepAlive', k], message: `http2KeepAlive ${k} is required` });
  }
}

function checkOutlierDetection(od: OutlierDetection | undefined, path: Path, issues: SpecIssue[]): void {
  if (od === undefined) return;
  if (od.splitExternalLocalOriginErrors !== true && (od.consecutiveLocalOriginFailures ?? 0) > 0) {
    issues.push({ path: [...path, 'consecutiveLocalOriginFailures'], message: 'consecutiveLocalOriginFailures is set but splitExternalLocalOriginErrors is not true' });
  }
}

function checkLoadBalancer(lb: LoadBalancerSettings | undefined, path: Path, issues: SpecIssue[]): void {
  if (lb === undefined) return;
  const ch = lb.consistentHash;
  if (ch !== undefined) {
    if (ch.minimumRingSize !== undefined && (ch.ringHash !== undefined || ch.maglev !== undefined)) {
      issues.push({ path: [...path, 'consistentHash', 'minimumRingSize'], message: 'only one of minimumRingSize (deprecated) or ringHash/maglev may be set' });
    }
    if (ch.maglev !== undefined) {
      const at = [...path, 'consistentHash', 'maglev', 'tableSize'];
      const size = ch.maglev.tableSize === undefined ? 0 : Number(ch.maglev.tableSize);
      if (size === 0) issues.push({ path: at, message: 'tableSize must be set for maglev' });
      else if (size >= MAGLEV_TABLE_LIMIT) issues.push({ path: at, message: `tableSize must be less than ${MAGLEV_TABLE_LIMIT} for maglev` });
      else if (!isPrime(size)) issues.push({ path: at, message: 'tableSize must be a prime number for maglev' });
    }
  }
  checkLocality(lb.localityLbSetting, [...path, 'localityLbSetting'], issues);
}

function checkTls(tls: ClientTlsSettings | undefined, path: Path, issues: SpecIssue[]): void {
  if (tls === undefined) return;
  const mode = tls.mode ?? 'DISABLE';
  if (tls.insecureSkipVerify === true) {
    if (mode === 'SIMPLE' && (tls.caCertificates !== undefined || tls.credentialName !== undefined || tls.subjectAltNames !== undefined)) {
      issues.push({ path: [...path, 'insecureSkipVerify'], message: 'caCertificates, credentialName and subjectAltNames cannot be set when insecureSkipVerify is true' });
    }
    if (mode === 'MUTUAL' && (tls.caCertificates !== undefined || tls.subjectAltNames !== undefined)) {
      issues.push({ path: [...path, 'insecureSkipVerify'], message: 'caCertificates and subjectAltNames cannot be set when insecureSkipVerify is true' });
    }
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && nonEmpty(tls.credentialName)) {
    if (nonEmpty(tls.clientCertificate) || nonEmpty(tls.caCertificates) || nonEmpty(tls.privateKey) || nonEmpty(tls.caCrl)) {
      issues.push({ path: [...path, 'credentialName'], message: 'clientCertificate, privateKey, caCertificates and caCrl cannot be set when credentialName is set' });
    }
    return;
  }
  if (mode === 'MUTUAL') {
    if (!nonEmpty(tls.clientCertificate)) issues.push({ path: [...path, 'clientCertificate'], message: 'clientCertificate is required for MUTUAL (or set credentialName)' });
    if (!nonEmpty(tls.privateKey)) issues.push({ path: [...path, 'privateKey'], message: 'privateKey is required for MUTUAL (or set credentialName)' });
  }
}

/** Istio's ValidateLocalityLbSetting: distribute and failover exclude each other; weights are 1..100 summing to 100. */
function checkLocality(l: LocalityLbSetting | undefined, path: Path, issues: SpecIssue[]): void {
  if (l === undefined) return;
  const distribute = l.distribute ?? [];
  const failover = l.failover ?? [];
  if (distribute.length > 0 && failover.length > 0) {
    issues.push({ path: [...path], message: "'distribute' and 'failover' cannot both be set" });
    return;
  }
  if (failover.length > 0) {
    const topo = (l.failoverPriority ?? []).findIndex((p) => TOPOLOGY_LABELS.has(p));
    if (topo >= 0) issues.push({ path: [...path, 'failoverPriority', topo], message: `'failover' cannot be combined with topology label '${l.failoverPriority?.[topo] ?? ''}' in failoverPriority` });
  }
  distribute.forEach((d, i) => {
    const weights = Object.entries(d.to ?? {});
    const bad = weights.find(([, w]) => w < 1 || w > 100);
    if (bad !== undefined) issues.push({ path: [...path, 'distribute', i, 'to', bad[0]], message: 'locality weight must be in range [1, 100]' });
    else {
      const total = weights.reduce((sum, [, w]) => sum + w, 0);
      if (total !== 100) issues.push({ path: [...path, 'distribute', i, 'to'], message: `total locality weight ${total} != 100` });
      else checkLocalities(weights.map(([k]) => k), [...path, 'distribute', i, 'to'], issues);
    }
  });
  checkLocalities(distribute.map((d) => d.from ?? ''), [...path, 'distribute'], issues);
  failover.forEach((f, i) => {
    const at = [...path, 'failover', i];
    const from = f.from ?? '';
    const to = f.to ?? '';
    if (from === to) issues.push({ path: at, message: 'failover must name different regions in from and to' });
    if (from.includes('/') || to.includes('/')) issues.push({ path: at, message: 'failover names regions only (no "/")' });
    if (from.includes('*') || to.includes('*')) issues.push({ path: at, message: "failover regions must not contain the '*' wildcard" });
  });
}

/**
 * Localities are region[/zone[/subzone]] with at most one `*`, at the end. As Istio reads them, a locality covers
 * everything beneath it ("us-west" and "us-west/*" both cover every zone of us-west; "*" covers all), and no
 * locality may overlap one listed before it.
 */
function checkLocalities(localities: readonly string[], path: Path, issues: SpecIssue[]): void {
  const seen: string[][] = [];
  for (const loc of localities) {
    const stars = loc.split('*').length - 1;
    if (stars > 1 || (stars === 1 && !loc.endsWith('*'))) {
      issues.push({ path: [...path], message: `locality ${loc}: at most one wildcard '*', and only at the end` });
      return;
    }
    const parts = loc.split('/', 3);
    if (parts.some((p) => p === '')) {
      issues.push({ path: [...path], message: `locality ${loc} must not contain an empty region, zone or subzone` });
      return;
    }
    const scope = parts[parts.length - 1] === '*' ? parts.slice(0, -1) : parts;
    const isPrefix = (a: string[], b: string[]): boolean => a.length <= b.length && a.every((seg, i) => seg === b[i]);
    if (seen.some((s) => isPrefix(s, scope) || isPrefix(scope, s))) {
      issues.push({ path: [...path], message: `locality ${loc} overlaps one listed before it` });
      return;
    }
    seen.push(scope);
  }
}

function nonEmpty(s: string | undefined): boolean {
  return s !== undefined && s !== '';
}

/** Envoy's isPrime (and Istio's copy of it), so the same table sizes pass. */
export function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  const limit = Math.floor(Math.sqrt(x));
  for (let f = 3; f <= limit; f += 2) if (x % f === 0) return false;
  return true;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;

function isFqdnOrIp(host: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.split('.').every((o) => Number(o) <= 255);
  if (host.includes(':')) return /^[0-9a-f:.]+$/i.test(host);
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => l.length <= 63 && DNS_LABEL.test(l));
}
