/**
 * One hop's span, as Istio's proxies make it: named `<service FQDN>:<port>/*`, SERVER at a sidecar's inbound side
 * and the gateway, CLIENT at a sidecar's outbound side, with Istio's span tags (the workload's canonical service and
 * revision, namespace, request id, URL, method, protocol, status, response flags, sizes, user agent, upstream
 * cluster and address). Built as the SDK's ReadableSpan when the request has finished, so nothing is allocated for
 * a request that is not sampled.
 */
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { Attributes, HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { AccessLogEntry } from './access-log.js';
import type { HopTrace } from './trace-context.js';
import { peerTableOf } from './peer-table.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';

const SCOPE = { name: 'weft-proxy' };

function truncate(v: string, max: number): string {
  return v.length > max ? v.slice(0, max) : v;
}

/** Istio's operation name: `<service FQDN>:<service port>/*` (inbound, the service port behind the app port). */
function operationName(e: AccessLogEntry, cfg: ProxyConfig): string {
  const host = e.destinationService ?? e.authority;
  let port = e.port;
  if (e.direction === 'inbound') port = cfg.inbound?.servicePorts.find((p) => p.host === host && p.targetPort === e.port)?.port ?? port;
  return `${host}:${port ?? 80}/*`;
}

export function hopSpan(e: AccessLogEntry, trace: HopTrace, endMs: number, resource: Resource, cfg: ProxyConfig, maxTagLength: number, customTags: readonly (readonly [string, string])[] = []): ReadableSpan {
  const peers = peerTableOf(cfg);
  const startMs = endMs - e.durationMs;
  const startTime = millisToHrTime(startMs);
  const endTime = millisToHrTime(endMs);
  const duration: HrTime = millisToHrTime(e.durationMs);
  const inbound = e.direction === 'inbound';
  const attributes: Attributes = {
    'istio.canonical_service': peers.local.canonicalService,
    'istio.canonical_revision': peers.local.canonicalRevision,
    'istio.namespace': peers.local.namespace,
    'istio.mesh_id': peers.clusterId,
    node_id: `${peers.local.namespace}/${peers.local.name}`,
    component: 'proxy',
    'http.method': e.method,
    'http.url': truncate(`http://${e.authority}${e.path}`, maxTagLength),
    'http.protocol': e.httpVersion ?? 'HTTP/1.1',
    'http.status_code': String(e.status),
    response_flags: e.responseFlags ?? '-',
    request_size: String(e.requestBytes ?? 0),
    response_size: String(e.responseBytes ?? 0),
    'guid:x-request-id': e.requestId ?? '',
    user_agent: truncate(e.userAgent ?? '-', maxTagLength),
    upstream_cluster: e.upstreamCluster ?? (inbound ? `inbound|${e.port ?? ''}||` : '-'),
    'peer.address': e.upstreamHost ?? '-',
  };
  // Telemetry's customTags: literal and environment values (read once per config), then request headers.
  for (const [tag, value] of customTags) attributes[tag] = value;
  const h = trace.headerTags;
  if (h !== undefined) for (let i = 0; i + 1 < h.length; i += 2) attributes[h[i]!] = h[i + 1]!;
  const failed = e.status >= 500 || e.status === 0;
  if (failed) attributes['error'] = true;
  return {
    name: operationName(e, cfg),
    kind: inbound || e.direction === 'gateway' ? SpanKind.SERVER : SpanKind.CLIENT,
    spanContext: () => ({ traceId: trace.traceId, spanId: trace.spanId, traceFlags: TraceFlags.SAMPLED }),
    ...(trace.parentSpanId === undefined ? {} : { parentSpanContext: { traceId: trace.traceId, spanId: trace.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true } }),
    startTime,
    endTime,
    status: { code: failed ? SpanStatusCode.ERROR : SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    duration,
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
