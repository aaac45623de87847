/**
 * The control plane's half of incremental pushes: the `config-delta` line that turns the config a proxy holds into
 * its new one. Shared sections are compared by identity first and content hash second; the outbound section is
 * diffed service by service. A diff between two shared sections is computed and serialised once, and every proxy
 * that moves between the same two sections is written the same string (the proxy's own part is all that is
 * computed per proxy).
 */
import type { CompiledProxyConfig } from './compile/index.js';
import type { SharedSection } from './compile/snapshot-memo.js';
import { jsonOf } from './compile/snapshot-memo.js';
import type { ProxyConfig } from '../proxyconfig/types.js';
import { keyedChangeJson } from '../push/config-delta.js';
import type { KeyedJson } from '../push/config-delta.js';

type Outbound = ProxyConfig['outbound'];
/** One piece of a delta line: text, or a shared section written by its JSON. */
export type DeltaPart = string | SharedSection<unknown>;

interface OutboundKeyed {
  services: KeyedJson[];
  externals: KeyedJson[];
  trafficPolicy: string;
  /** Whole-field JSON of the optional members, `null` when absent (a delta then removes them). */
  externalRoutes: string;
  egressGatewayHosts: string;
}

const keyedOf = new WeakMap<SharedSection<Outbound>, OutboundKeyed>();
/** Outbound diffs by (from, to) section: one per pair of shared sections, however many proxies move between them. */
const outboundDiffs = new WeakMap<SharedSection<Outbound>, WeakMap<SharedSection<Outbound>, string>>();

function keyed(section: SharedSection<Outbound>): OutboundKeyed {
  let k = keyedOf.get(section);
  if (!k) {
    const v = section.value;
    k = {
      services: v.services.map((s) => ({ key: s.host, json: jsonOf(s) })),
      externals: v.externals.map((e) => ({ key: e.source, json: JSON.stringify(e) })),
      trafficPolicy: JSON.stringify(v.trafficPolicy),
      externalRoutes: JSON.stringify(v.externalRoutes ?? null),
      egressGatewayHosts: JSON.stringify(v.egressGatewayHosts ?? null),
    };
    keyedOf.set(section, k);
  }
  return k;
}

/** The `"outbound":{…}` member of a delta from one outbound section to another, '' when they hold the same. */
export function outboundDiffJson(from: SharedSection<Outbound>, to: SharedSection<Outbound>): string {
  if (from === to || from.hash === to.hash) return '';
  let byTo = outboundDiffs.get(from);
  if (!byTo) {
    byTo = new WeakMap();
    outboundDiffs.set(from, byTo);
  }
  let json = byTo.get(to);
  if (json === undefined) {
    const a = keyed(from);
    const b = keyed(to);
    const fields: string[] = [];
    if (a.trafficPolicy !== b.trafficPolicy) fields.push(`"trafficPolicy":${b.trafficPolicy}`);
    if (a.externalRoutes !== b.externalRoutes) fields.push(`"externalRoutes":${b.externalRoutes}`);
    if (a.egressGatewayHosts !== b.egressGatewayHosts) fields.push(`"egressGatewayHosts":${b.egressGatewayHosts}`);
    const services = keyedChangeJson(a.services, b.services);
    if (services !== undefined) fields.push(`"services":${services}`);
    const externals = keyedChangeJson(a.externals, b.externals);
    if (externals !== undefined) fields.push(`"externals":${externals}`);
    json = fields.length === 0 ? '' : `"outbound":{${fields.join(',')}}`;
    byTo.set(to, json);
  }
  return json;
}

function sameSection(a: SharedSection<unknown> | null, b: SharedSection<unknown> | null): boolean {
  return a === b || (a !== null && b !== null && a.hash === b.hash);
}

/**
 * The parts of the `config-delta` line (without its newline) that turns `from` into `to`. Written after one
 * another, they are one JSON document; a shared section appears as itself so that its bytes are shared too.
 */
export function configDeltaParts(from: CompiledProxyConfig, to: CompiledProxyConfig): DeltaPart[] {
  const a = from.sections;
  const b = to.sections;
  const parts: DeltaPart[] = [`{"type":"config-delta","base":${JSON.stringify(from.config.version)},"version":${JSON.stringify(to.config.version)}`];
  const sections: DeltaPart[] = [];
  if (a.head !== b.head) {
    const c = to.config;
    sections.push(`"schema":${JSON.stringify(c.schema)},"proxy":${JSON.stringify(c.proxy)},"trustDomain":${JSON.stringify(c.trustDomain)},"inbound":${JSON.stringify(c.inbound)}`);
  }
  if (!sameSection(a.gateway, b.gateway)) sections.push(...(b.gateway === null ? ['"gateway":null'] : ['"gateway":', b.gateway]));
  if (!sameSection(a.security, b.security)) sections.push('"security":', b.security);
  if (!sameSection(a.telemetry, b.telemetry)) sections.push('"telemetry":', b.telemetry);
  if (!sameSection(a.telemetryPolicy, b.telemetryPolicy)) sections.push('"telemetryPolicy":', b.telemetryPolicy);
  if (sections.length > 0) {
    parts.push(',"sections":{');
    // Members are comma-separated; a section object follows its own name without one.
    sections.forEach((p, i) => parts.push(i > 0 && typeof p === 'string' && p.startsWith('"') ? `,${p}` : p));
    parts.push('}');
  }
  const outbound = outboundDiffJson(a.outbound, b.outbound);
  if (outbound !== '') parts.push(`,${outbound}`);
  parts.push('}');
  return parts;
}
