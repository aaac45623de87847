/**
 * The labels of Istio's standard metrics for one finished request or connection, as Istio's "Istio Standard
 * Metrics" page defines them. Every value comes from this proxy's config (its own workload, the endpoint it chose,
 * the service it routed to) or from a verified identity; the request adds nothing but its status code, its response
 * flags and whether it was gRPC, so the series count is bounded by the mesh's size.
 */
import type { WorkloadMetadata } from '../../proxyconfig/telemetry-types.js';
import type { AccessLogEntry } from './access-log.js';
import type { PeerTable } from './peer-table.js';

export const PEER_LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export const REQUEST_LABELS = [...PEER_LABELS, 'response_code', 'grpc_response_status'] as const;

export type PeerLabels = Record<(typeof PEER_LABELS)[number], string>;
export type RequestLabels = Record<(typeof REQUEST_LABELS)[number], string>;

/** Istio's PassthroughCluster and BlackHoleCluster: where ALLOW_ANY sends unknown destinations, and REGISTRY_ONLY refuses them. */
export const PASSTHROUGH = 'PassthroughCluster';
export const BLACKHOLE = 'BlackHoleCluster';
const UNKNOWN = 'unknown';
/** A mesh service's FQDN: `name.namespace.svc.<domain>`. */
const MESH_FQDN = /^([^.]+)\.([^.]+)\.svc\./;

export type Reporter = 'source' | 'destination';

export function reporterOf(e: AccessLogEntry): Reporter {
  // Gateways report as the source of the requests they forward, as Istio's gateways do.
  return e.direction === 'inbound' ? 'destination' : 'source';
}

/** The service labels: FQDN, name and namespace, or Istio's pseudo-clusters for destinations outside the registry. */
function serviceOf(e: AccessLogEntry): [service: string, name: string, namespace: string] {
  if (e.egress?.decision === 'denied') return [BLACKHOLE, BLACKHOLE, UNKNOWN];
  if (e.egress?.decision === 'passthrough') return [PASSTHROUGH, PASSTHROUGH, UNKNOWN];
  const host = e.destinationService;
  if (host === undefined) return [UNKNOWN, UNKNOWN, UNKNOWN];
  const m = MESH_FQDN.exec(host);
  if (m) return [host, m[1]!, m[2]!];
  // A ServiceEntry host: Istio names the service by its host, in the entry's namespace.
  const se = e.egress?.serviceEntry;
  return [host, host, se === undefined ? UNKNOWN : se.slice(0, se.indexOf('/'))];
}

function side(w: WorkloadMetadata | undefined): [workload: string, namespace: string, app: string, version: string, canonicalService: string, canonicalRevision: string] {
  if (w === undefined) return [UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN];
  return [w.name, w.namespace, w.app, w.version, w.canonicalService, w.canonicalRevision];
}

export function peerLabels(e: AccessLogEntry, t: PeerTable, protocol: 'http' | 'grpc' | 'tcp'): PeerLabels {
  const reporter = reporterOf(e);
  let src: WorkloadMetadata | undefined;
  let dst: WorkloadMetadata | undefined;
  let srcPrincipal: string;
  let dstPrincipal: string;
  let policy: string;
  let dstCluster = t.clusterId;
  if (reporter === 'destination') {
    src = t.peer(e.peer, e.peerWorkload);
    dst = t.local;
    srcPrincipal = e.peer ?? UNKNOWN;
    dstPrincipal = e.mtls === true ? t.local.spiffeId : UNKNOWN;
    policy = e.mtls === true ? 'mutual_tls' : 'none';
  } else {
    // A gateway that verified its caller (ISTIO_MUTUAL) names the caller as the source: at an egress gateway, which
    // workload left. Istio's gateways name themselves there; the caller is what an audit of the exit needs.
    const caller = e.direction === 'gateway' && e.peer !== undefined ? t.peer(e.peer, undefined) : undefined;
    src = caller ?? t.local;
    dst = t.named(e.upstream);
    srcPrincipal = caller !== undefined ? e.peer! : e.mtls === true ? t.local.spiffeId : UNKNOWN;
    dstPrincipal = e.mtls === true ? (e.upstreamPrincipal ?? UNKNOWN) : UNKNOWN;
    // Istio: the source cannot know the destination's policy, so it reports `unknown`.
    policy = UNKNOWN;
    if (dst === undefined) dstCluster = UNKNOWN;
  }
  const [sw, sns, sapp, sver, scs, scr] = side(src);
  const [dw, dns, dapp, dver, dcs, dcr] = side(dst);
  const [service, serviceName, serviceNamespace] = serviceOf(e);
  return {
    reporter,
    source_workload: sw,
    source_canonical_service: scs,
    source_canonical_revision: scr,
    source_workload_namespace: sns,
    source_principal: srcPrincipal,
    source_app: sapp,
    source_version: sver,
    source_cluster: src === undefined ? UNKNOWN : t.clusterId,
    destination_workload: dw,
    destination_workload_namespace: dns,
    destination_principal: dstPrincipal,
    destination_app: dapp,
    destination_version: dver,
    destination_service: service,
    destination_canonical_service: dcs,
    destination_canonical_revision: dcr,
    destination_service_name: serviceName,
    destination_service_namespace: serviceNamespace,
    destination_cluster: dstCluster,
    request_protocol: protocol,
    response_flags: e.responseFlags ?? '-',
    connection_security_policy: policy,
  };
}

export function requestLabels(e: AccessLogEntry, t: PeerTable): RequestLabels {
  const l = peerLabels(e, t, e.protocol ?? 'http') as RequestLabels;
  l.response_code = String(e.status);
  l.grpc_response_status = e.grpcStatus === undefined ? '' : String(e.grpcStatus);
  return l;
}
