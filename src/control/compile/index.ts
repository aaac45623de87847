/**
 * compile: (mesh snapshot, proxy identity) → ProxyConfig. Pure and deterministic, so equal inputs give equal
 * versions and the push loop sends nothing when nothing changed for a proxy.
 *
 * Most of a config is shared: the outbound section by every proxy of a namespace under the same Sidecar (in a
 * namespace without Sidecars, all of them), the gateway section by every gateway with the same labels, the
 * security section by every proxy with the same namespace and labels. Those are
 * compiled, serialised and hashed once per snapshot; a proxy's own compile is its identity and inbound side, and
 * its version hashes its own parts with the shared sections' hashes.
 */
import { createHash } from 'node:crypto';
import { PROXY_CONFIG_SCHEMA } from '../../proxyconfig/types.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { WeftError } from '../../errors.js';
import { servicesOf, workloadNamed } from '../registry/index.js';
import type { RegistryService, RegistryWorkload } from '../registry/index.js';
import type { MeshSnapshot } from './snapshot.js';
import type { SharedSection } from './snapshot-memo.js';
import { perEpoch } from './snapshot-memo.js';
import { sameItems } from './policy-epoch.js';
import type { AppliedSidecar } from './sidecar-scope.js';
import { outboundSection } from './outbound.js';
import { compileInbound } from './inbound.js';
import { gatewaySection } from './gateway.js';
import { securitySection } from './security.js';
import { sidecarFor } from './sidecar-scope.js';
import { telemetrySection } from './telemetry.js';
import { telemetryPolicySection } from './telemetry-policy.js';

export interface ProxyNode {
  role: 'sidecar' | 'gateway';
  namespace: string;
  name: string;
  serviceAccount: string;
  /** Gateways only: their labels (sidecars take the Workload's). */
  labels?: Record<string, string>;
}

/** One piece of a config's JSON: the proxy's own text, or a section shared with other proxies. */
export type ConfigJsonPart = string | SharedSection<unknown>;

export interface CompiledProxyConfig {
  config: ProxyConfig;
  /** Concatenated (a shared section by its `json`), exactly `JSON.stringify(config)`. */
  jsonParts: readonly ConfigJsonPart[];
  /** The shared sections by name, for the push's deltas: equal objects are equal content. */
  sections: CompiledSections;
}

export interface CompiledSections {
  /** The proxy's own part: schema, identity, trust domain and inbound side. */
  head: string;
  outbound: SharedSection<ProxyConfig['outbound']>;
  gateway: SharedSection<NonNullable<ProxyConfig['gateway']>> | null;
  security: SharedSection<ProxyConfig['security']>;
  telemetry: SharedSection<NonNullable<ProxyConfig['telemetry']>>;
  telemetryPolicy: SharedSection<NonNullable<ProxyConfig['telemetryPolicy']>>;
}

export function compileProxyConfig(snap: MeshSnapshot, node: ProxyNode): ProxyConfig {
  return compileProxyConfigParts(snap, node).config;
}

export function compileProxyConfigParts(snap: MeshSnapshot, node: ProxyNode): CompiledProxyConfig {
  const spiffeId = `spiffe://${snap.mesh.trustDomain}/ns/${node.namespace}/sa/${node.serviceAccount}`;
  let body: Omit<ProxyConfig, 'version'>;
  let parts: ConfigJsonPart[];
  const telemetry = telemetrySection(snap);
  let sections: CompiledSections;
  if (node.role === 'sidecar') {
    const w = workloadNamed(snap.registry, node.namespace, node.name);
    if (!w) throw new WeftError('NOT_FOUND', `no Workload ${node.namespace}/${node.name}`);
    if (w.serviceAccount !== node.serviceAccount) {
      throw new WeftError('FORBIDDEN', `Workload ${node.namespace}/${node.name} runs as ${w.serviceAccount}, not ${node.serviceAccount}`);
    }
    const { proxy, inbound, head, sidecar, security, telemetryPolicy } = sidecarOwnParts(snap, w, spiffeId);
    const outbound = outboundSection(snap, { namespace: node.namespace, labels: w.labels, meshRoutes: true }, sidecar);
    body = { schema: PROXY_CONFIG_SCHEMA, proxy, trustDomain: snap.mesh.trustDomain, inbound, outbound: outbound.value, gateway: null, security: security.value, telemetry: telemetry.value, telemetryPolicy: telemetryPolicy.value };
    sections = { head, outbound, gateway: null, security, telemetry, telemetryPolicy };
    parts = [sections.head, outbound, ',"gateway":null,"security":', security, ',"telemetry":', telemetry, ',"telemetryPolicy":', telemetryPolicy];
  } else {
    // The proxy sends its labels in whatever order; the audit chain records them in sorted order. Sorted here, the
    // config compiled again from that record is the same bytes (enforced-config.ts).
    const labels = Object.fromEntries(Object.entries(node.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const proxy = { role: 'gateway' as const, namespace: node.namespace, name: node.name, spiffeId, labels };
    const gateway = gatewaySection(snap, labels, node.namespace);
    // A Sidecar never applies to a gateway; exportTo does, by the gateway's namespace.
    const outbound = outboundSection(snap, { namespace: node.namespace, labels, meshRoutes: false, gateway: true });
    const security = securitySection(snap, { namespace: node.namespace, labels });
    const telemetryPolicy = telemetryPolicySection(snap, { role: 'gateway', namespace: node.namespace, labels });
    body = { schema: PROXY_CONFIG_SCHEMA, proxy, trustDomain: snap.mesh.trustDomain, inbound: null, outbound: outbound.value, gateway: gateway.value, security: security.value, telemetry: telemetry.value, telemetryPolicy: telemetryPolicy.value };
    sections = { head: headOf(snap, proxy, null), outbound, gateway, security, telemetry, telemetryPolicy };
    parts = [sections.head, outbound, ',"gateway":', gateway, ',"security":', security, ',"telemetry":', telemetry, ',"telemetryPolicy":', telemetryPolicy];
  }
  const version = versionOf(parts);
  parts.push(`,"version":${JSON.stringify(version)}}`);
  return { config: { ...body, version } as ProxyConfig, jsonParts: parts, sections };
}

function headOf(snap: MeshSnapshot, proxy: ProxyConfig['proxy'], inbound: ProxyConfig['inbound']): string {
  return `{"schema":${JSON.stringify(PROXY_CONFIG_SCHEMA)},"proxy":${JSON.stringify(proxy)},"trustDomain":${JSON.stringify(snap.mesh.trustDomain)},"inbound":${JSON.stringify(inbound)},"outbound":`;
}

/** A sidecar's own part of its config, with the Sidecar resource that scopes its outbound section. */
interface SidecarOwnParts {
  workload: RegistryWorkload;
  /** The Services selecting the workload, which its inbound side was compiled from. */
  services: readonly RegistryService[];
  proxy: ProxyConfig['proxy'];
  inbound: NonNullable<ProxyConfig['inbound']>;
  head: string;
  sidecar: AppliedSidecar | undefined;
  security: CompiledSections['security'];
  telemetryPolicy: CompiledSections['telemetryPolicy'];
}

/**
 * Kept for the policy epoch while the workload and the Services selecting it are the same objects: the inbound side
 * reads only those and policy; which Sidecar applies, and the security and telemetry policy sections, depend only on
 * the workload's namespace, labels and policy. A change to one Service then compiles the own part of that Service's
 * workloads alone, not of every proxy (with a Sidecar per workload, it was most of a proxy's own compile). Kept per
 * workload under perEpoch's rule: dropped once a snapshot compiles without it.
 */
function sidecarOwnParts(snap: MeshSnapshot, w: RegistryWorkload, spiffeId: string): SidecarOwnParts {
  const services = servicesOf(snap.registry, w);
  // Workload names are DNS labels: no '/' inside either part.
  const memo = perEpoch(snap, `sidecar-own:${w.namespace}/${w.name}`, (): { held?: SidecarOwnParts } => ({}));
  const held = memo.held;
  if (held !== undefined && held.workload === w && held.proxy.spiffeId === spiffeId && sameItems(held.services, services)) return held;
  const proxy = { role: 'sidecar' as const, namespace: w.namespace, name: w.name, spiffeId, labels: w.labels };
  const inbound = compileInbound(snap, w);
  const parts: SidecarOwnParts = {
    workload: w,
    services,
    proxy,
    inbound,
    head: headOf(snap, proxy, inbound),
    sidecar: sidecarFor(snap, w),
    security: securitySection(snap, w),
    telemetryPolicy: telemetryPolicySection(snap, { role: 'sidecar', namespace: w.namespace, labels: w.labels }),
  };
  memo.held = parts;
  return parts;
}

/**
 * A content hash of the parts: the proxy's own text, and each shared section by its own content hash. Each part
 * is framed by kind and length, so different configs cannot run together into the same input.
 */
function versionOf(parts: readonly ConfigJsonPart[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    if (typeof p === 'string') h.update(`s${p.length}:`).update(p);
    else h.update(`h:${p.hash}`);
  }
  return h.digest('hex').slice(0, 16);
}
