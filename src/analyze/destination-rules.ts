/**
 * DestinationRule checks: Kiali's KIA0201–KIA0207 (duplicate host+subset, unknown host, subset labels no workload
 * has, mTLS overridden or in conflict with PeerAuthentication) and Istio's IST0113 (mTLS conflict) and
 * IST0128/IST0129 (TLS without server verification).
 */
import type { DestinationRuleSpec } from '../config/kinds/destination-rule.js';
import type { ServiceEntrySpec } from '../config/kinds/service-entry.js';
import type { PeerAuthnMode } from '../config/kinds/peer-authentication.js';
import type { ClientTlsSettings } from '../config/kinds/traffic-policy.js';
import { ruleHost } from '../control/compile/destination-rule.js';
import { effectivePeerAuthn } from '../control/compile/peer-authentication.js';
import { hostSubsetOf } from '../control/compile/sidecar-scope.js';
import { selects } from '../control/registry/index.js';
import type { RegistryWorkload } from '../control/registry/index.js';
import type { AnalysisContext, Check, Item } from './context.js';
import type { Finding } from './finding.js';

type Rule = Item<DestinationRuleSpec>;

const rulesOf = (ctx: AnalysisContext): readonly Rule[] => ctx.of<DestinationRuleSpec>('DestinationRule');
const hostOf = (dr: Rule): string => ruleHost(dr.spec.host, dr.namespace);
const isWildcard = (host: string): boolean => host.startsWith('*');
const meshWide = (ctx: AnalysisContext, dr: Rule): boolean => dr.namespace === ctx.rootNamespace && (hostOf(dr) === '*' || hostOf(dr) === '*.local' || hostOf(dr) === '*.cluster.local' || hostOf(dr) === '*.svc.cluster.local');
const namespaceWide = (dr: Rule): boolean => hostOf(dr) === `*.${dr.namespace}.svc.cluster.local`;
const tlsMode = (dr: Rule): ClientTlsSettings['mode'] => dr.spec.trafficPolicy?.tls?.mode;

/** The workloads behind a host: those of the Services the host names, and ServiceEntry endpoints' labels. */
function workloadsBehind(ctx: AnalysisContext, host: string): RegistryWorkload[] {
  const reg = ctx.snapshot.registry;
  const services = reg.services.filter((s) => hostSubsetOf(s.host, host));
  return reg.workloads.filter((w) => services.some((s) => s.namespace === w.namespace && selects(s.selector, w.labels)));
}

function modeOfWorkload(ctx: AnalysisContext, w: { namespace: string; labels: Record<string, string> }): PeerAuthnMode {
  return effectivePeerAuthn(ctx.snapshot.peerAuthentications, ctx.rootNamespace, w).defaultMode;
}

/** KIA0201 (two rules, one host+subset), KIA0202 (host unknown), KIA0203 (subset labels on no workload). */
export const checkDestinationRuleReferences: Check = (ctx) => {
  const out: Finding[] = [];
  const rules = rulesOf(ctx);
  for (const dr of rules) {
    const host = hostOf(dr);
    const others = rules.filter((o) => o !== dr && o.spec.workloadSelector === undefined && dr.spec.workloadSelector === undefined && hostOf(o) === host);
    const mySubsets = (dr.spec.subsets ?? []).map((s) => s.name);
    const clash = others.filter((o) => {
      const theirs = (o.spec.subsets ?? []).map((s) => s.name);
      return mySubsets.length === 0 || theirs.length === 0 || theirs.some((n) => mySubsets.includes(n));
    });
    if (clash.length > 0) {
      out.push(ctx.finding(dr.entry, {
        code: 'KIA0201', severity: 'warning', path: ['spec', 'host'],
        message: `More than one DestinationRule for the same host subset combination (also ${clash.map((c) => `${c.namespace}/${c.name}`).join(', ')})`,
        fix: 'merge the rules for this host into one DestinationRule',
      }));
    }
    if (!ctx.hostKnown(host)) {
      out.push(ctx.finding(dr.entry, {
        code: 'KIA0202', severity: 'error', path: ['spec', 'host'],
        message: `This host has no matching entry in the service registry (service, workload or service entries): ${dr.spec.host}`,
        fix: 'apply the Service or ServiceEntry for this host, or correct the host name',
      }));
      continue;
    }
    if (isWildcard(host)) continue;
    const workloads = workloadsBehind(ctx, host);
    const endpoints = ctx.of<ServiceEntrySpec>('ServiceEntry')
      .filter((e) => e.spec.hosts.some((h) => h.toLowerCase() === host))
      .flatMap((e) => (e.spec.endpoints ?? []).map((ep) => ep.labels ?? {}));
    if (workloads.length === 0 && endpoints.length === 0) continue;
    (dr.spec.subsets ?? []).forEach((subset, i) => {
      const labels = subset.labels ?? {};
      if (Object.keys(labels).length === 0) return;
      const found = [...workloads.map((w) => w.labels), ...endpoints].some((l) => Object.entries(labels).every(([k, v]) => l[k] === v));
      if (found) return;
      // A warning, not an error: which workloads run changes by the minute, and declaring a subset before its version
      // is deployed is the first step of a canary (Istio's own destination-rule-all names versions bookinfo never
      // runs). Admission refuses broken references, not config that waits for a workload.
      out.push(ctx.finding(dr.entry, {
        code: 'KIA0203', severity: 'warning', path: ['spec', 'subsets', i, 'labels'],
        message: `This subset's labels are not found in any matching host (subset ${subset.name})`,
        fix: 'label a Workload behind this host with these labels, or correct the subset labels',
      }));
    });
  }
  return out;
};

/** KIA0204–KIA0207 and IST0113: DestinationRule mTLS against other rules and against PeerAuthentication. */
export const checkDestinationRuleMtls: Check = (ctx) => {
  const out: Finding[] = [];
  const rules = rulesOf(ctx);
  const meshMtls = rules.filter((dr) => meshWide(ctx, dr) && tlsMode(dr) === 'ISTIO_MUTUAL');
  const meshMode = modeOfWorkload(ctx, { namespace: ctx.rootNamespace, labels: {} });
  for (const dr of rules) {
    const host = hostOf(dr);
    const mode = tlsMode(dr);
    if (!meshWide(ctx, dr) && mode === undefined && meshMtls.some((m) => hostSubsetOf(host, hostOf(m)))) {
      out.push(ctx.finding(dr.entry, {
        code: 'KIA0204', severity: 'warning', path: ['spec', 'host'],
        message: `mTLS settings of a non-local DestinationRule are overridden: ${meshMtls.map((m) => `${m.namespace}/${m.name}`).join(', ')} enables ISTIO_MUTUAL for this host, and this rule, the more specific, sets no tls`,
        fix: 'add trafficPolicy.tls.mode: ISTIO_MUTUAL to this rule',
      }));
    }
    if (mode === 'ISTIO_MUTUAL' && meshWide(ctx, dr) && meshMode === 'DISABLE') {
      out.push(ctx.finding(dr.entry, {
        code: 'KIA0205', severity: 'error', path: ['spec', 'trafficPolicy', 'tls', 'mode'],
        message: 'PeerAuthentication enabling mTLS at mesh level is missing: the mesh-wide PeerAuthentication disables mTLS',
        fix: `set the PeerAuthentication in ${ctx.rootNamespace} without a selector to STRICT or PERMISSIVE`,
      }));
    }
    if (mode === 'ISTIO_MUTUAL' && namespaceWide(dr) && modeOfWorkload(ctx, { namespace: dr.namespace, labels: {} }) === 'DISABLE') {
      out.push(ctx.finding(dr.entry, {
        code: 'KIA0206', severity: 'error', path: ['spec', 'trafficPolicy', 'tls', 'mode'],
        message: `PeerAuthentication enabling namespace-wide mTLS is missing: namespace ${dr.namespace} disables mTLS`,
        fix: `set the PeerAuthentication in ${dr.namespace} without a selector to STRICT or PERMISSIVE`,
      }));
    }
    if (mode === 'DISABLE') {
      const strict = isWildcard(host)
        ? (meshWide(ctx, dr) ? meshMode === 'STRICT' : namespaceWide(dr) && modeOfWorkload(ctx, { namespace: dr.namespace, labels: {} }) === 'STRICT')
        : workloadsBehind(ctx, host).some((w) => modeOfWorkload(ctx, w) === 'STRICT');
      if (strict) {
        out.push(ctx.finding(dr.entry, {
          code: 'KIA0207', severity: 'error', path: ['spec', 'trafficPolicy', 'tls', 'mode'],
          message: 'PeerAuthentication with TLS strict mode found, it should be permissive: this rule sends plaintext to workloads that require mTLS',
          fix: 'remove tls mode DISABLE (or use ISTIO_MUTUAL), or set the PeerAuthentication of these workloads to PERMISSIVE',
        }));
      }
    }
    if (mode === 'ISTIO_MUTUAL' && !isWildcard(host)) {
      const plain = workloadsBehind(ctx, host).filter((w) => modeOfWorkload(ctx, w) === 'DISABLE');
      if (plain.length > 0) {
        out.push(ctx.finding(dr.entry, {
          code: 'IST0113', severity: 'error', path: ['spec', 'trafficPolicy', 'tls', 'mode'],
          message: `A DestinationRule and Policy are in conflict with regards to mTLS for host ${host}: the DestinationRule requires mTLS but the PeerAuthentication of ${plain.map((w) => `${w.namespace}/${w.name}`).join(', ')} disables it`,
          fix: 'set the PeerAuthentication of these workloads to STRICT or PERMISSIVE, or stop requiring ISTIO_MUTUAL here',
        }));
      }
    }
  }
  return out;
};

function unverified(tls: ClientTlsSettings | undefined, workloadSelected: boolean): boolean {
  if (tls === undefined || (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL')) return false;
  if (tls.caCertificates !== undefined && tls.caCertificates !== '') return false;
  if (tls.insecureSkipVerify === true) return false;
  // A credentialName on a rule with a workloadSelector (a gateway's rule) brings its CA with it.
  return !(workloadSelected && tls.credentialName !== undefined);
}

/** IST0128 / IST0129 NoServerCertificateVerification at destination and port level. */
export const checkServerCertificateVerification: Check = (ctx) => {
  const out: Finding[] = [];
  for (const dr of rulesOf(ctx)) {
    const selected = dr.spec.workloadSelector !== undefined;
    const tls = dr.spec.trafficPolicy?.tls;
    if (unverified(tls, selected)) {
      out.push(ctx.finding(dr.entry, {
        code: 'IST0128', severity: 'error', path: ['spec', 'trafficPolicy', 'tls'],
        message: `DestinationRule ${dr.name} in namespace ${dr.namespace} has TLS mode set to ${tls?.mode} but no caCertificates are set to validate server identity for host: ${dr.spec.host}`,
        fix: 'set trafficPolicy.tls.caCertificates to the CA bundle that signs the server, or insecureSkipVerify: true if that is really meant',
      }));
    }
    (dr.spec.trafficPolicy?.portLevelSettings ?? []).forEach((p, i) => {
      if (!unverified(p.tls, selected)) return;
      out.push(ctx.finding(dr.entry, {
        code: 'IST0129', severity: 'warning', path: ['spec', 'trafficPolicy', 'portLevelSettings', i, 'tls'],
        message: `DestinationRule ${dr.name} in namespace ${dr.namespace} has TLS mode set to ${p.tls?.mode} but no caCertificates are set to validate server identity for host: ${dr.spec.host} at port ${p.port?.number ?? '(any)'}`,
        fix: 'set tls.caCertificates for this port to the CA bundle that signs the server',
      }));
    });
  }
  return out;
};
