/**
 * Host claims (HostClaim, after Aspen Mesh's Traffic Claim Enforcer): a VirtualService, ServiceEntry,
 * DestinationRule, Gateway, or Gateway API route or listener whose host overlaps a host claimed for other namespaces (WEFT0110); a claim outside
 * the root namespace that grants namespaces other than its own (WEFT0111); two namespaces' claims on one host
 * (WEFT0112). A host is usable in a namespace only if every claim whose hosts overlap it grants that namespace.
 */
import type { DestinationRuleSpec } from '../config/kinds/destination-rule.js';
import type { GatewaySpec } from '../config/kinds/gateway.js';
import type { HostClaimSpec } from '../config/kinds/host-claim.js';
import type { KubernetesGatewaySpec } from '../config/kinds/gateway-api/gateway.js';
import type { ServiceEntrySpec } from '../config/kinds/service-entry.js';
import type { VirtualServiceSpec } from '../config/kinds/virtual-service.js';
import { ruleHost } from '../control/compile/destination-rule.js';
import type { AnalysisContext, AnalyzedResource, Check, Item } from './context.js';
import type { Finding } from './finding.js';
import { hostsOverlap, splitNamespacedHost } from './hosts.js';

type Claim = Item<HostClaimSpec>;

/** The namespaces a claim grants: any it lists when it is global (root namespace), else its own alone. */
function granted(ctx: AnalysisContext, claim: Claim): string[] {
  return claim.namespace === ctx.rootNamespace ? (claim.spec.namespaces ?? [claim.namespace]) : [claim.namespace];
}

interface RoutedHost {
  entry: AnalyzedResource;
  namespace: string;
  host: string;
  path: (string | number)[];
}

/** Every host a routing object takes traffic for, with the field it is written in. */
function routedHosts(ctx: AnalysisContext): RoutedHost[] {
  const out: RoutedHost[] = [];
  for (const vs of ctx.of<VirtualServiceSpec>('VirtualService')) {
    (vs.spec.hosts ?? []).forEach((h, i) => out.push({ entry: vs.entry, namespace: vs.namespace, host: ruleHost(h, vs.namespace), path: ['spec', 'hosts', i] }));
  }
  for (const se of ctx.of<ServiceEntrySpec>('ServiceEntry')) {
    se.spec.hosts.forEach((h, i) => out.push({ entry: se.entry, namespace: se.namespace, host: ruleHost(h, se.namespace), path: ['spec', 'hosts', i] }));
  }
  for (const dr of ctx.of<DestinationRuleSpec>('DestinationRule')) {
    out.push({ entry: dr.entry, namespace: dr.namespace, host: ruleHost(dr.spec.host, dr.namespace), path: ['spec', 'host'] });
  }
  for (const gw of ctx.of<GatewaySpec>('Gateway')) {
    (gw.spec.servers ?? []).forEach((s, i) => s.hosts.forEach((h, j) => {
      out.push({ entry: gw.entry, namespace: gw.namespace, host: splitNamespacedHost(h).host.toLowerCase(), path: ['spec', 'servers', i, 'hosts', j] });
    }));
  }
  // The Gateway API routes hosts too: a route's hostnames and a Gateway listener's hostname.
  for (const kind of ['HTTPRoute', 'GRPCRoute', 'TLSRoute']) {
    for (const route of ctx.of<{ hostnames?: string[] }>(kind)) {
      (route.spec.hostnames ?? []).forEach((h, i) => out.push({ entry: route.entry, namespace: route.namespace, host: h, path: ['spec', 'hostnames', i] }));
    }
  }
  for (const gw of ctx.of<KubernetesGatewaySpec>('KubernetesGateway')) {
    gw.spec.listeners.forEach((l, i) => {
      if (l.hostname !== undefined) out.push({ entry: gw.entry, namespace: gw.namespace, host: l.hostname, path: ['spec', 'listeners', i, 'hostname'] });
    });
  }
  return out;
}

export const checkHostClaims: Check = (ctx) => {
  const out: Finding[] = [];
  const claims = ctx.of<HostClaimSpec>('HostClaim');
  if (claims.length === 0) return out;
  for (const claim of claims) {
    if (claim.namespace !== ctx.rootNamespace && (claim.spec.namespaces ?? []).some((n) => n !== claim.namespace)) {
      out.push(ctx.finding(claim.entry, {
        code: 'WEFT0111', severity: 'error', path: ['spec', 'namespaces'],
        message: `a claim in namespace ${claim.namespace} can only grant ${claim.namespace}; only claims in the root namespace ${ctx.rootNamespace} grant others`,
        fix: `remove spec.namespaces, or move the claim to ${ctx.rootNamespace}`,
      }));
    }
    claim.spec.hosts.forEach((host, i) => {
      const rivals = claims.filter((c) => c.namespace !== claim.namespace && c.namespace !== ctx.rootNamespace && claim.namespace !== ctx.rootNamespace
        && c.spec.hosts.some((h) => hostsOverlap(h, host)));
      if (rivals.length === 0) return;
      out.push(ctx.finding(claim.entry, {
        code: 'WEFT0112', severity: 'error', path: ['spec', 'hosts', i],
        message: `host ${host} is also claimed by ${rivals.map((r) => `${r.namespace}/${r.name}`).join(', ')}`,
        fix: `keep one namespace's claim on ${host}, or grant both namespaces with one claim in ${ctx.rootNamespace}`,
      }));
    });
  }
  for (const routed of routedHosts(ctx)) {
    const forbidding = claims.filter((c) => c.spec.hosts.some((h) => hostsOverlap(h, routed.host)) && !granted(ctx, c).includes(routed.namespace));
    const claim = forbidding[0];
    if (claim === undefined) continue;
    const r = routed.entry.resource;
    out.push(ctx.finding(routed.entry, {
      code: 'WEFT0110', severity: 'error', path: routed.path,
      message: `host ${routed.host} is claimed by HostClaim ${claim.namespace}/${claim.name} for ${granted(ctx, claim).join(', ')}; ${r.kind} in namespace ${routed.namespace} may not route it`,
      fix: `use a host outside the claim, move the ${r.kind} to ${granted(ctx, claim).join(' or ')}, or have the claim grant ${routed.namespace}`,
    }));
  }
  return out;
};
