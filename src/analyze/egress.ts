/**
 * weft's egress scope checks: a ServiceEntry wildcard wider than the hosts the mesh's config uses under it
 * (WEFT0105), a Sidecar egress host that no Service or ServiceEntry matches (WEFT0106).
 */
import type { AuthorizationPolicySpec } from '../config/kinds/authorization-policy.js';
import type { DestinationRuleSpec } from '../config/kinds/destination-rule.js';
import type { ServiceEntrySpec } from '../config/kinds/service-entry.js';
import type { SidecarSpec } from '../config/kinds/sidecar.js';
import type { VirtualServiceSpec } from '../config/kinds/virtual-service.js';
import { hostSubsetOf } from '../control/compile/sidecar-scope.js';
import type { AnalysisContext, Check } from './context.js';
import type { Finding } from './finding.js';
import { hostsOverlap, splitNamespacedHost } from './hosts.js';

/** Exact hosts the config names as destinations or routes: where callers are sent. */
function usedHosts(ctx: AnalysisContext): Set<string> {
  const hosts: string[] = [];
  for (const vs of ctx.of<VirtualServiceSpec>('VirtualService')) {
    hosts.push(...(vs.spec.hosts ?? []));
    for (const r of vs.spec.http ?? []) hosts.push(...(r.route ?? []).map((d) => d.destination.host));
    for (const r of [...(vs.spec.tcp ?? []), ...(vs.spec.tls ?? [])]) hosts.push(...r.route.map((d) => d.destination.host));
    for (const r of vs.spec.tls ?? []) hosts.push(...r.match.flatMap((m) => m.sniHosts));
  }
  hosts.push(...ctx.of<DestinationRuleSpec>('DestinationRule').map((dr) => dr.spec.host));
  hosts.push(...ctx.of<SidecarSpec>('Sidecar').flatMap((s) => (s.spec.egress ?? []).flatMap((e) => e.hosts.map((h) => splitNamespacedHost(h).host))));
  hosts.push(...ctx.of<AuthorizationPolicySpec>('AuthorizationPolicy').flatMap((ap) => (ap.spec.rules ?? []).flatMap((r) => (r.to ?? []).flatMap((t) => t.operation?.hosts ?? []))));
  return new Set(hosts.map((h) => h.toLowerCase().replace(/:\d+$/, '')).filter((h) => !h.startsWith('*')));
}

/** The longest dot-suffix every host shares, e.g. api.example.com and www.example.com → example.com. */
function commonSuffix(hosts: readonly string[]): string {
  const split = hosts.map((h) => h.split('.').reverse());
  const out: string[] = [];
  for (let i = 0; split.every((s) => i < s.length && s[i] === split[0]![i]); i++) out.push(split[0]![i]!);
  return out.reverse().join('.');
}

/** The narrowest single pattern covering every used host: the host itself, or `*.<common suffix>`. */
function narrowerPattern(under: readonly string[]): string | undefined {
  if (under.length === 0) return undefined;
  if (under.length === 1) return under[0];
  const suffix = commonSuffix(under);
  // `*.example.com` does not cover example.com itself: then only the list will do.
  return suffix === '' || under.includes(suffix) ? under.join(', ') : `*.${suffix}`;
}

export const checkServiceEntryWildcards: Check = (ctx) => {
  const out: Finding[] = [];
  // Every host the config names, gathered only when some ServiceEntry has a wildcard to weigh them against.
  let used: string[] | undefined;
  for (const se of ctx.subjectsOf<ServiceEntrySpec>('ServiceEntry')) {
    se.spec.hosts.forEach((host, i) => {
      const wildcard = host.toLowerCase();
      if (!wildcard.startsWith('*')) return;
      used ??= [...usedHosts(ctx)];
      const under = used.filter((h) => hostSubsetOf(h, wildcard));
      const narrower = narrowerPattern(under);
      // The wildcard is as narrow as what is used under it (e.g. *.example.com for a.example.com and b.example.com).
      if (narrower !== undefined && hostSubsetOf(wildcard, narrower)) return;
      out.push(ctx.finding(se.entry, {
        code: 'WEFT0105', severity: 'warning', path: ['spec', 'hosts', i],
        message: under.length === 0
          ? `wildcard ${host} admits every host under it, and no route, rule or Sidecar in the mesh names one`
          : `wildcard ${host} admits more than the mesh uses: only ${under.join(', ')} ${under.length === 1 ? 'is' : 'are'} named under it`,
        fix: narrower === undefined ? 'list the external hosts callers need instead of a wildcard' : `narrow the host to ${narrower}`,
      }));
    });
  }
  return out;
};

interface KnownHost {
  host: string;
  namespace: string;
}

/**
 * Does some known host in `ns` (`*`: any) overlap `host`? Exact known hosts are looked up by name, so a mesh with
 * a Sidecar per workload is checked in hosts × wildcards rather than hosts × every Service.
 */
function knownHostMatcher(known: readonly KnownHost[]): (ns: string, host: string) => boolean {
  const exact = new Map<string, Set<string>>();
  const wildcards: KnownHost[] = [];
  for (const k of known) {
    const host = k.host.toLowerCase();
    if (host.startsWith('*')) wildcards.push({ host, namespace: k.namespace });
    else {
      const namespaces = exact.get(host);
      if (namespaces) namespaces.add(k.namespace);
      else exact.set(host, new Set([k.namespace]));
    }
  }
  const inNamespace = (ns: string, k: KnownHost): boolean => ns === '*' || k.namespace === ns;
  return (ns, host) => {
    if (host === '*' || host.startsWith('*')) return known.some((k) => inNamespace(ns, k) && (host === '*' || hostsOverlap(k.host, host)));
    const namespaces = exact.get(host);
    if (namespaces !== undefined && (ns === '*' || namespaces.has(ns))) return true;
    return wildcards.some((k) => inNamespace(ns, k) && hostSubsetOf(host, k.host));
  };
}

export const checkSidecarEgressHosts: Check = (ctx) => {
  const out: Finding[] = [];
  const sidecars = ctx.subjectsOf<SidecarSpec>('Sidecar');
  if (sidecars.length === 0) return out;
  const knownIn = knownHostMatcher(ctx.knownHosts());
  for (const sc of sidecars) {
    (sc.spec.egress ?? []).forEach((listener, i) => {
      listener.hosts.forEach((text, j) => {
        const { namespace, host } = splitNamespacedHost(text);
        if (namespace === '~' || (namespace === '*' && host === '*')) return;
        const ns = namespace === '.' ? sc.namespace : namespace;
        if (knownIn(ns, host.toLowerCase())) return;
        out.push(ctx.finding(sc.entry, {
          code: 'WEFT0106', severity: 'warning', path: ['spec', 'egress', i, 'hosts', j],
          message: `egress host ${text} matches no Service or ServiceEntry`,
          fix: 'correct the namespace or host, or apply the ServiceEntry it is meant to reach',
        }));
      });
    });
  }
  return out;
};
