/**
 * `weft proxy-config` tables, in `istioctl proxy-config`'s columns, read from the config a proxy ACKed and, for
 * endpoints and secrets, the proxy's own runtime report. Pure: fetching is in proxy-config.ts.
 */
import { SIDECAR_INBOUND_PORT, SIDECAR_OUTBOUND_PORT } from '../proxyconfig/types.js';
import type { OutboundPort, OutboundService, ProxyConfig } from '../proxyconfig/types.js';
import { DEFAULT_TRAFFIC_POLICY } from '../proxyconfig/default-traffic-policy.js';
import type { ClusterConfig } from '../proxyconfig/types.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';
import type { RunningProxyConfig } from '../control/api/proxy-config-routes.js';
import { describeMatch } from '../route-check/format-explanation.js';
import { formatTable } from './text-table.js';

export interface Table {
  headers: string[];
  rows: string[][];
  /** The same rows as data, for -o json and yaml. */
  items: unknown[];
}

/** How a VirtualService is named in a route's `source` (`namespace/name#index`). */
const vsOf = (source: string): string => source.slice(0, source.lastIndexOf('#') < 0 ? source.length : source.lastIndexOf('#'));

function domains(svc: OutboundService): string {
  const names = [svc.host, ...svc.aliases];
  return names.length <= 2 ? names.join(', ') : `${names[0]}, ${names[1]} + ${names.length - 2} more`;
}

export function routeTable(cfg: ProxyConfig): Table {
  const t: Table = { headers: ['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE'], rows: [], items: [] };
  for (const svc of cfg.outbound.services) {
    for (const p of svc.ports) {
      if (p.protocol === 'tcp' || p.protocol === 'tls') continue;
      const vhost = `${svc.host}:${p.port}`;
      const add = (match: string, vs: string, route: unknown): void => {
        t.rows.push([String(p.port), vhost, domains(svc), match, vs]);
        t.items.push({ name: String(p.port), virtualHost: vhost, domains: [svc.host, ...svc.aliases], match, virtualService: vs === '-' ? null : vs, route });
      };
      if (p.http === undefined) add('/* (default route)', '-', null);
      else if (p.http.length === 0) add('(none: 404 NR)', '-', null);
      for (const r of p.http ?? []) {
        const entries = r.match.length === 0 ? [null] : r.match;
        for (const m of entries) add(m === null ? '/*' : describeMatch(m), vsOf(r.source), r);
      }
    }
  }
  for (const server of cfg.gateway?.servers ?? []) {
    for (const vh of server.virtualHosts) {
      const vhost = `${vh.domains.join(',')}:${server.port}`;
      for (const r of vh.routes) {
        for (const m of r.match.length === 0 ? [null] : r.match) {
          const match = m === null ? '/*' : describeMatch(m);
          t.rows.push([`http.${server.port}`, vhost, vh.domains.join(', '), match, vsOf(r.source)]);
          t.items.push({ name: `http.${server.port}`, virtualHost: vhost, domains: vh.domains, match, virtualService: vsOf(r.source), gateway: vh.gateway, route: r });
        }
      }
    }
  }
  return t;
}

/** The clusters of a service port: the DestinationRule's, else the one the proxy builds with Istio's defaults. */
export function portClusters(svc: OutboundService, p: OutboundPort): Array<ClusterConfig & { endpoints: string[] }> {
  if (p.clusters !== undefined) return p.clusters;
  const name = `outbound|${p.port}||${svc.host}`;
  return [{ name, host: svc.host, port: p.port, subset: null, labels: {}, destinationRules: [], policy: DEFAULT_TRAFFIC_POLICY, endpoints: p.endpoints.map((e) => e.address) }];
}

export function clusterTable(cfg: ProxyConfig): Table {
  const t: Table = { headers: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE'], rows: [], items: [] };
  const add = (fqdn: string, port: string, subset: string, direction: string, type: string, dr: string, item: unknown): void => {
    t.rows.push([fqdn, port, subset, direction, type, dr]);
    t.items.push(item);
  };
  // Istio's catch-all for destinations neither in the registry nor a ServiceEntry, as the traffic policy decides.
  const catchAll = cfg.outbound.trafficPolicy === 'ALLOW_ANY' ? ['PassthroughCluster', 'ORIGINAL_DST'] : ['BlackHoleCluster', 'STATIC'];
  add(catchAll[0]!, '-', '-', '-', catchAll[1]!, '-', { name: catchAll[0], type: catchAll[1] });
  for (const p of cfg.inbound?.ports ?? []) {
    add('', String(p.port), '-', 'inbound', 'ORIGINAL_DST', '-', { name: `inbound|${p.port}||`, direction: 'inbound', port: p.port, protocol: p.protocol, mtls: p.mode });
  }
  for (const svc of cfg.outbound.services) {
    for (const p of svc.ports) {
      for (const c of portClusters(svc, p)) {
        add(svc.host, String(p.port), c.subset ?? '-', 'outbound', 'EDS', c.destinationRules.join(', ') || '-', { ...c, direction: 'outbound', type: 'EDS' });
      }
    }
  }
  for (const e of cfg.outbound.externals) {
    // Istio's cluster types for ServiceEntry resolutions: NONE passes to the address dialled, DNS resolves names.
    const type = e.resolution === 'NONE' ? 'ORIGINAL_DST' : e.resolution === 'DNS' ? 'STRICT_DNS' : 'EDS';
    for (const host of e.hosts) {
      for (const p of e.ports) add(host, String(p.port), '-', 'outbound', type, '-', { name: `outbound|${p.port}||${host}`, serviceEntry: e.source, direction: 'outbound', type, protocol: p.protocol });
    }
  }
  return t;
}

/** The sidecar's own listeners are on its pod address at Istio's ports; a gateway's on its Gateway servers' ports. */
export function listenerTable(cfg: ProxyConfig, podIP: string): Table {
  const t: Table = { headers: ['ADDRESS', 'PORT', 'MATCH', 'DESTINATION'], rows: [], items: [] };
  const add = (address: string, port: number, match: string, destination: string): void => {
    t.rows.push([address, String(port), match, destination]);
    t.items.push({ address, port, match, destination });
  };
  if (cfg.inbound !== null) {
    add(podIP, SIDECAR_OUTBOUND_PORT, 'ALL', 'outbound: by service host and port, else egress');
    for (const p of cfg.inbound.ports) add(podIP, SIDECAR_INBOUND_PORT, `app port ${p.port}; ${p.protocol}; mTLS ${p.mode}`, `Cluster: inbound|${p.port}||`);
    add(podIP, SIDECAR_INBOUND_PORT, `other ports; mTLS ${cfg.inbound.defaultMode}`, 'InboundPassthroughCluster');
  }
  for (const svc of cfg.outbound.services) {
    for (const p of svc.ports) {
      const address = svc.addresses.join(',') || svc.host;
      const http = p.protocol !== 'tcp' && p.protocol !== 'tls';
      add(address, p.port, http ? `${p.protocol.toUpperCase()}; Host ${svc.host}` : p.protocol.toUpperCase(), http ? `Route: ${p.port}` : `Cluster: outbound|${p.port}||${svc.host}`);
    }
  }
  for (const server of cfg.gateway?.servers ?? []) add('0.0.0.0', server.port, `${server.protocol} (Gateway server ${server.name})`, `Route: http.${server.port}`);
  return t;
}

export function endpointTable(cfg: ProxyConfig, report: ProxyRuntimeReport): Table {
  const t: Table = { headers: ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows: [], items: [] };
  const health = new Map(report.clusters.map((c) => [c.name, c] as const));
  for (const svc of cfg.outbound.services) {
    for (const p of svc.ports) {
      const byAddress = new Map(p.endpoints.map((e) => [e.address, e] as const));
      for (const c of portClusters(svc, p)) {
        const live = health.get(c.name);
        for (const address of c.endpoints) {
          const ep = byAddress.get(address);
          const state = live?.endpoints.find((e) => e.address === address);
          // Every endpoint the control plane sends is ready (Envoy's EDS health); ejection is the proxy's own finding.
          const outlier = state === undefined ? 'UNKNOWN' : state.ejected ? 'FAILED' : 'OK';
          const endpoint = `${address}:${ep?.inboundPort ?? p.port}`;
          t.rows.push([endpoint, 'HEALTHY', outlier, c.name]);
          t.items.push({ endpoint, cluster: c.name, status: 'HEALTHY', outlierCheck: outlier, workload: ep?.workload ?? null, runtime: state ?? null, breaker: live?.breaker ?? null, panic: live?.panic ?? null });
        }
      }
    }
  }
  return t;
}

export function secretTable(report: ProxyRuntimeReport, now: number): Table {
  const t: Table = { headers: ['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows: [], items: [] };
  for (const c of report.certificates) {
    const valid = Date.parse(c.notBefore) <= now && now < Date.parse(c.notAfter);
    t.rows.push([c.name, c.type, 'ACTIVE', String(valid), c.serialNumber, c.notAfter, c.notBefore]);
    t.items.push({ ...c, status: 'ACTIVE', valid });
  }
  return t;
}

/** One line on what is shown: the version, its ACK, a refused newer config, a proxy running something else now. */
export function heading(running: RunningProxyConfig, report: ProxyRuntimeReport | undefined): string[] {
  const lines = [`# ${running.proxy.id}: config ${running.config.version}, ACKed ${running.ackedAt}`];
  if (running.nacked) lines.push(`# refused config ${running.nacked.version} at ${running.nacked.at}: ${running.nacked.reason}; running the last good one`);
  if (report && report.configVersion !== running.config.version) lines.push(`# the proxy reports running config ${report.configVersion ?? '(none)'}: a push is under way`);
  if (report?.truncated) lines.push('# the proxy left clusters out of its report to keep it small');
  return lines;
}

export function renderTable(t: Table): string {
  return formatTable(t.headers, t.rows);
}
