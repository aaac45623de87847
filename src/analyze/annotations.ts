/**
 * Istio annotation checks: an annotation of an Istio domain that Istio does not define (IST0108), and one Istio
 * defines for another kind of object (IST0107). weft's Workload stands where Istio's annotations name a Pod.
 */
import type { Check } from './context.js';
import type { Finding } from './finding.js';

const WORKLOAD = ['Workload'];

/** Istio's annotations (istio.io/api annotation package) and the weft kinds each belongs on. */
const ANNOTATIONS: Readonly<Record<string, readonly string[]>> = {
  'istio.io/dry-run': ['AuthorizationPolicy'],
  'istio.io/rev': WORKLOAD,
  'networking.istio.io/exportTo': ['Service'],
  'networking.istio.io/traffic-distribution': ['Service'],
  // weft reads gatewayTopology from a Gateway's proxy.istio.io/config (its ingress runs no Pod of its own).
  'proxy.istio.io/config': ['Workload', 'Gateway'],
  'prometheus.istio.io/merge-metrics': WORKLOAD,
  'readiness.status.sidecar.istio.io/applicationPorts': WORKLOAD,
  'readiness.status.sidecar.istio.io/failureThreshold': WORKLOAD,
  'readiness.status.sidecar.istio.io/initialDelaySeconds': WORKLOAD,
  'readiness.status.sidecar.istio.io/periodSeconds': WORKLOAD,
  'inject.istio.io/templates': WORKLOAD,
  'sidecar.istio.io/inject': WORKLOAD,
  'sidecar.istio.io/status': WORKLOAD,
  'sidecar.istio.io/logLevel': WORKLOAD,
  'sidecar.istio.io/componentLogLevel': WORKLOAD,
  'sidecar.istio.io/interceptionMode': WORKLOAD,
  'sidecar.istio.io/proxyCPU': WORKLOAD,
  'sidecar.istio.io/proxyCPULimit': WORKLOAD,
  'sidecar.istio.io/proxyMemory': WORKLOAD,
  'sidecar.istio.io/proxyMemoryLimit': WORKLOAD,
  'sidecar.istio.io/proxyImage': WORKLOAD,
  'sidecar.istio.io/rewriteAppHTTPProbers': WORKLOAD,
  'sidecar.istio.io/userVolume': WORKLOAD,
  'sidecar.istio.io/userVolumeMount': WORKLOAD,
  'sidecar.istio.io/statsInclusionPrefixes': WORKLOAD,
  'sidecar.istio.io/statsInclusionSuffixes': WORKLOAD,
  'sidecar.istio.io/statsInclusionRegexps': WORKLOAD,
  'sidecar.istio.io/extraStatTags': WORKLOAD,
  'sidecar.istio.io/agentLogLevel': WORKLOAD,
  'sidecar.istio.io/bootstrapOverride': WORKLOAD,
  'status.sidecar.istio.io/port': WORKLOAD,
  'traffic.sidecar.istio.io/includeOutboundIPRanges': WORKLOAD,
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': WORKLOAD,
  'traffic.sidecar.istio.io/includeInboundPorts': WORKLOAD,
  'traffic.sidecar.istio.io/excludeInboundPorts': WORKLOAD,
  'traffic.sidecar.istio.io/includeOutboundPorts': WORKLOAD,
  'traffic.sidecar.istio.io/excludeOutboundPorts': WORKLOAD,
  'traffic.sidecar.istio.io/excludeInterfaces': WORKLOAD,
  'traffic.sidecar.istio.io/kubevirtInterfaces': WORKLOAD,
};

/** `sidecar.istio.io/inject` is in Istio's domain; `example.com/istio.io` is not. */
function inIstioDomain(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return prefix === 'istio.io' || prefix.endsWith('.istio.io');
}

export const checkAnnotations: Check = (ctx) => {
  const out: Finding[] = [];
  for (const entry of ctx.items) {
    for (const key of Object.keys(entry.resource.metadata.annotations)) {
      if (!inIstioDomain(key)) continue;
      const kinds = ANNOTATIONS[key];
      if (kinds === undefined) {
        out.push(ctx.finding(entry, {
          code: 'IST0108', severity: 'warning', path: ['metadata', 'annotations', key],
          message: `Unknown annotation: ${key}`,
          fix: 'correct the annotation name (they are case-sensitive), or remove it: nothing reads it',
        }));
      } else if (!kinds.includes(entry.resource.kind)) {
        out.push(ctx.finding(entry, {
          code: 'IST0107', severity: 'warning', path: ['metadata', 'annotations', key],
          message: `Misplaced annotation: ${key} can only be applied to ${kinds.join(', ')}`,
          fix: `move the annotation to the ${kinds.join(' or ')} it is meant for`,
        }));
      }
    }
  }
  return out;
};
