/**
 * Istio's VirtualService rules that span fields (pkg/config/validation's ValidateVirtualService): which actions
 * exclude which, delegate shapes, hosts, exportTo, SNI hosts within the VirtualService's hosts, split weights.
 */
import { isIP } from 'node:net';
import type { HttpRoute, VirtualServiceSpec } from './virtual-service.js';
import type { SpecIssue } from './spec-issue.js';

type Path = (string | number)[];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
/** A host Istio accepts: `*`, `*.suffix`, `*suffix` in the first label, or a DNS name (an IP only where noted). */
function validHost(host: string): boolean {
  if (host.length > 255) return false;
  const [first, ...rest] = host.split('.');
  const firstOk = first === '*' || (first !== undefined && (DNS_LABEL.test(first) || (first.startsWith('*') && DNS_LABEL.test(first.slice(1)))));
  return firstOk && rest.every((l) => DNS_LABEL.test(l));
}

/** Istio's host.Name.Matches: either side's wildcard covers the other. */
function hostsOverlap(a: string, b: string): boolean {
  const covers = (w: string, h: string): boolean => w === h || w === '*' || (w.startsWith('*') && h.endsWith(w.slice(1)));
  return covers(a, b) || covers(b, a);
}

/** Istio's SubsetOf: `sni` names nothing outside `host`. */
function hostSubsetOf(sni: string, host: string): boolean {
  if (host === '*' || sni === host) return true;
  if (host.startsWith('*')) return (sni.startsWith('*') ? sni.slice(1) : sni).endsWith(host.slice(1));
  return false;
}

function validCidr(s: string): boolean {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || ip === undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

function checkGatewayNames(names: readonly string[] | undefined, path: Path, issues: SpecIssue[]): void {
  (names ?? []).forEach((g, i) => {
    const parts = g.split('/');
    const ok = parts.length === 1 ? g.split('.').every((l) => DNS_LABEL.test(l)) : parts.length === 2 && parts.every((p) => DNS_LABEL.test(p));
    if (!ok) issues.push({ path: [...path, i], message: `invalid gateway name ${JSON.stringify(g)}: expected name or namespace/name` });
  });
}

export function checkVirtualService(spec: VirtualServiceSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const hosts = spec.hosts ?? [];
  const isDelegate = hosts.length === 0;
  if (isDelegate) {
    if ((spec.gateways ?? []).length > 0) issues.push({ path: ['gateways'], message: 'delegate virtual service must have no gateways specified' });
    if ((spec.tls ?? []).length > 0) issues.push({ path: ['tls'], message: 'delegate virtual service must have no tls route specified' });
    if ((spec.tcp ?? []).length > 0) issues.push({ path: ['tcp'], message: 'delegate virtual service must have no tcp route specified' });
  }
  checkGatewayNames(spec.gateways, ['gateways'], issues);
  const appliesToMesh = (spec.gateways ?? []).length === 0 || (spec.gateways ?? []).includes('mesh');
  hosts.forEach((h, i) => {
    if (!validHost(h.toLowerCase()) && isIP(h) === 0) issues.push({ path: ['hosts', i], message: `invalid host ${JSON.stringify(h)}` });
    else if (appliesToMesh && h === '*') issues.push({ path: ['hosts', i], message: 'wildcard host * is not allowed for virtual services bound to the mesh gateway' });
    for (let j = 0; j < i; j++) {
      if (hostsOverlap(hosts[j]!.toLowerCase(), h.toLowerCase())) issues.push({ path: ['hosts', i], message: `duplicate hosts in virtual service: ${hosts[j]} & ${h}` });
    }
  });
  if ((spec.http ?? []).length === 0 && (spec.tcp ?? []).length === 0 && (spec.tls ?? []).length === 0) {
    issues.push({ path: [], message: 'http, tcp or tls must be provided in virtual service' });
  }
  (spec.http ?? []).forEach((r, i) => checkHttpRoute(r, ['http', i], isDelegate, issues));
  (spec.tls ?? []).forEach((r, i) => {
    r.match.forEach((m, j) => {
      m.sniHosts.forEach((sni, k) => {
        const at = ['tls', i, 'match', j, 'sniHosts', k];
        if (!validHost(sni.toLowerCase()) && isIP(sni) === 0) issues.push({ path: at, message: `invalid SNI host ${JSON.stringify(sni)}` });
        else if (!hosts.some((h) => hostSubsetOf(sni.toLowerCase(), h.toLowerCase()))) {
          issues.push({ path: at, message: `SNI host ${JSON.stringify(sni)} is not a compatible subset of any of the virtual service hosts: [${hosts.join(', ')}]` });
        }
      });
      checkL4Match(m, ['tls', i, 'match', j], issues);
    });
    checkWeights(r.route, ['tls', i, 'route'], issues);
  });
  (spec.tcp ?? []).forEach((r, i) => {
    (r.match ?? []).forEach((m, j) => checkL4Match(m, ['tcp', i, 'match', j], issues));
    checkWeights(r.route, ['tcp', i, 'route'], issues);
  });
  checkExportTo(spec.exportTo, issues);
  return issues;
}

function checkHttpRoute(r: HttpRoute, at: Path, isDelegate: boolean, issues: SpecIssue[]): void {
  const add = (rest: Path, message: string): void => void issues.push({ path: [...at, ...rest], message });
  if (r.delegate !== undefined && !isDelegate) {
    // A root route only points at its delegate; the delegate's routes carry the destinations.
    if (r.redirect !== undefined) add(['redirect'], 'a root HTTP route with delegate must not specify redirect');
    if (r.route !== undefined) add(['route'], 'a root HTTP route with delegate must not specify route');
  } else {
    if (r.delegate !== undefined) add(['delegate'], 'delegate HTTP route cannot contain delegate');
    const hasRoute = (r.route ?? []).length > 0;
    if (r.redirect !== undefined) {
      if (hasRoute) add([], 'HTTP route cannot contain both route and redirect');
      if (r.fault !== undefined) add(['fault'], 'HTTP route cannot contain both fault and redirect');
      if (r.rewrite !== undefined) add(['rewrite'], 'HTTP route rule cannot contain both rewrite and redirect');
      if (r.directResponse !== undefined) add(['directResponse'], 'HTTP route rule cannot contain both direct_response and redirect');
    } else if (r.directResponse !== undefined) {
      if (hasRoute) add([], 'HTTP route cannot contain both route and direct_response');
      if (r.fault !== undefined) add(['fault'], 'HTTP route cannot contain both fault and direct_response');
      if (r.rewrite !== undefined) add(['rewrite'], 'HTTP route rule cannot contain both rewrite and direct_response');
    } else if (!hasRoute) {
      add([], 'HTTP route, redirect or direct_response is required');
    }
  }
  if (r.mirror !== undefined && (r.mirrors ?? []).length > 0) add(['mirrors'], 'HTTP route cannot contain both mirror and mirrors');
  if (r.redirect?.prefixRewrite) {
    (r.match ?? []).forEach((m, j) => {
      if (m.uri !== undefined && m.uri.prefix === undefined) add(['match', j, 'uri'], 'redirect prefixRewrite requires all URI matches to use prefix match type');
    });
  }
  (r.match ?? []).forEach((m, j) => checkGatewayNames(m.gateways, [...at, 'match', j, 'gateways'], issues));
  checkAuthorityOnce(r, at, issues);
  checkWeights(r.route ?? [], [...at, 'route'], issues);
}

/** The authority may be rewritten in one place only: rewrite.authority or a request `host`/`:authority` header. */
function checkAuthorityOnce(r: HttpRoute, at: Path, issues: SpecIssue[]): void {
  const places: string[] = [];
  if (r.rewrite?.authority) places.push('rewrite.authority');
  for (const op of ['set', 'add'] as const) {
    for (const name of Object.keys(r.headers?.request?.[op] ?? {})) {
      if (name.toLowerCase() === 'host' || name.toLowerCase() === ':authority') places.push(`headers.request.${op}.${name}`);
    }
  }
  if (places.length > 1) issues.push({ path: [...at, 'headers'], message: `authority header cannot be set multiple times (${places.join(', ')})` });
}

function checkL4Match(m: { destinationSubnets?: string[] | undefined; gateways?: string[] | undefined }, at: Path, issues: SpecIssue[]): void {
  (m.destinationSubnets ?? []).forEach((s, k) => {
    if (!validCidr(s)) issues.push({ path: [...at, 'destinationSubnets', k], message: `invalid IP address or CIDR ${JSON.stringify(s)}` });
  });
  checkGatewayNames(m.gateways, [...at, 'gateways'], issues);
}

function checkWeights(routes: readonly { weight?: number | undefined }[], path: Path, issues: SpecIssue[]): void {
  // Istio normalises weights that do not add up to 100, but a split where every weight is zero sends nowhere.
  if (routes.length > 1 && routes.every((d) => (d.weight ?? 0) === 0)) issues.push({ path, message: 'total destination weight = 0' });
}

function checkExportTo(exportTo: readonly string[] | undefined, issues: SpecIssue[]): void {
  const list = exportTo ?? [];
  const seen = new Set<string>();
  list.forEach((e, i) => {
    if (e !== '.' && e !== '*' && !DNS_LABEL.test(e)) issues.push({ path: ['exportTo', i], message: `invalid exportTo value ${JSON.stringify(e)}: expected ".", "*" or a namespace` });
    if (seen.has(e)) issues.push({ path: ['exportTo', i], message: `duplicate entries in exportTo for entry ${e}` });
    seen.add(e);
  });
  if (seen.has('*') && list.length > 1) issues.push({ path: ['exportTo'], message: 'cannot have both public (*) and non-public exportTo values for a resource' });
}
