/**
 * VirtualService checks: references to Gateways, hosts and subsets that do not exist (IST0101), two mesh-bound
 * VirtualServices for one host (IST0109), rules no request can reach (IST0130).
 */
import { isDeepStrictEqual } from 'node:util';
import type { DestinationRuleSpec } from '../config/kinds/destination-rule.js';
import type { VirtualServiceSpec } from '../config/kinds/virtual-service.js';
import type { Check, Item } from './context.js';
import type { Finding } from './finding.js';
import { hostReadings } from './hosts.js';

const MESH_GATEWAY = 'mesh';

function gatewayKey(ref: string, namespace: string): string {
  return ref.includes('/') ? ref : `${namespace}/${ref}`;
}

/** IST0101 ReferencedResourceNotFound: gateways, destination hosts, and host+subset pairs that no object defines. */
export const checkVirtualServiceReferences: Check = (ctx) => {
  const out: Finding[] = [];
  const gateways = new Set(ctx.of('Gateway').map((g) => `${g.namespace}/${g.name}`));
  const rules = ctx.of<DestinationRuleSpec>('DestinationRule');
  for (const vs of ctx.of<VirtualServiceSpec>('VirtualService')) {
    (vs.spec.gateways ?? []).forEach((g, i) => {
      if (g === MESH_GATEWAY || gateways.has(gatewayKey(g, vs.namespace))) return;
      out.push(ctx.finding(vs.entry, {
        code: 'IST0101', severity: 'error', path: ['spec', 'gateways', i],
        message: `Referenced gateway not found: "${g}"`,
        fix: `apply a Gateway named ${gatewayKey(g, vs.namespace)}, or correct the name (namespace/name, or name in ${vs.namespace})`,
      }));
    });
    for (const { path, host, subset } of destinations(vs)) {
      const readings = hostReadings(host, vs.namespace);
      if (!readings.some((h) => ctx.hostKnown(h))) {
        out.push(ctx.finding(vs.entry, {
          code: 'IST0101', severity: 'error', path: [...path, 'host'],
          message: `Referenced host not found: "${host}"`,
          fix: 'apply the Service or ServiceEntry for this host, or correct the host name',
        }));
        continue;
      }
      if (subset === undefined) continue;
      const defined = rules.some((dr) =>
        hostReadings(dr.spec.host, dr.namespace).some((h) => readings.includes(h)) && (dr.spec.subsets ?? []).some((s) => s.name === subset));
      if (!defined) {
        out.push(ctx.finding(vs.entry, {
          code: 'IST0101', severity: 'error', path: [...path, 'subset'],
          message: `Referenced host+subset in destinationrule not found: "${host}+${subset}"`,
          fix: `define subset ${subset} in a DestinationRule for ${host}, or route without the subset`,
        }));
      }
    }
  }
  return out;
};

function destinations(vs: Item<VirtualServiceSpec>): { path: (string | number)[]; host: string; subset: string | undefined }[] {
  const out: { path: (string | number)[]; host: string; subset: string | undefined }[] = [];
  (vs.spec.http ?? []).forEach((r, i) => {
    (r.route ?? []).forEach((d, j) => out.push({ path: ['spec', 'http', i, 'route', j, 'destination'], host: d.destination.host, subset: d.destination.subset }));
  });
  for (const proto of ['tcp', 'tls'] as const) {
    (vs.spec[proto] ?? []).forEach((r, i) => {
      r.route.forEach((d, j) => out.push({ path: ['spec', proto, i, 'route', j, 'destination'], host: d.destination.host, subset: d.destination.subset }));
    });
  }
  return out;
}

/** IST0109 ConflictingMeshGatewayVirtualServiceHosts: one host, several VirtualServices bound to the mesh gateway. */
export const checkMeshGatewayHostConflicts: Check = (ctx) => {
  const byHost = new Map<string, { vs: Item<VirtualServiceSpec>; index: number }[]>();
  for (const vs of ctx.of<VirtualServiceSpec>('VirtualService')) {
    const gws = vs.spec.gateways ?? [];
    if (gws.length > 0 && !gws.includes(MESH_GATEWAY)) continue;
    (vs.spec.hosts ?? []).forEach((h, index) => {
      const key = hostReadings(h, vs.namespace)[0]!;
      byHost.set(key, [...(byHost.get(key) ?? []), { vs, index }]);
    });
  }
  const out: Finding[] = [];
  for (const [host, list] of byHost) {
    if (list.length < 2) continue;
    const names = list.map((l) => `${l.vs.namespace}/${l.vs.name}`).sort().join(',');
    for (const { vs, index } of list) {
      out.push(ctx.finding(vs.entry, {
        code: 'IST0109', severity: 'error', path: ['spec', 'hosts', index],
        message: `The VirtualServices ${names} associated with mesh gateway define the same host ${host}, which can lead to undefined behavior`,
        fix: 'merge the conflicting VirtualServices into one resource',
      }));
    }
  }
  return out;
};

function stripName<T extends { name?: string }>(m: T): Omit<T, 'name'> {
  const { name: _ignored, ...rest } = m;
  return rest;
}

/** IST0130 VirtualServiceUnreachableRule: a rule after a match-all rule, or whose every match an earlier rule has. */
export const checkUnreachableRules: Check = (ctx) => {
  const out: Finding[] = [];
  for (const vs of ctx.of<VirtualServiceSpec>('VirtualService')) {
    for (const proto of ['http', 'tcp'] as const) {
      const routes: { match?: object[] }[] = vs.spec[proto] ?? [];
      const seen: object[] = [];
      let catchAll = -1;
      routes.forEach((r, i) => {
        const matches = (r.match ?? []).map((m) => stripName(m as { name?: string }));
        let reason: string | undefined;
        if (catchAll >= 0) reason = `only the last rule can have no matches (rule ${catchAll} has none)`;
        else if (matches.length > 0 && matches.every((m) => seen.some((s) => isDeepStrictEqual(s, m)))) reason = 'all matches used by prior rules';
        if (reason !== undefined) {
          out.push(ctx.finding(vs.entry, {
            code: 'IST0130', severity: 'warning', path: ['spec', proto, i],
            message: `VirtualService rule ${i} not used (${reason})`,
            fix: 'move the rule above the rule that takes its requests, narrow that rule, or delete this one',
          }));
        }
        if (matches.length === 0 && catchAll < 0) catchAll = i;
        seen.push(...matches);
      });
    }
  }
  return out;
};
