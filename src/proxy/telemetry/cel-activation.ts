/**
 * The attributes a Telemetry CEL expression reads, with Envoy's names, from a finished request's entry and the
 * config in force. `boundedAttributes` holds only what config and identities bound (a metric tag's inputs); the
 * filter's activation adds what the client sent, for access-log filters.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { AccessLogEntry } from './access-log.js';

const nodeMetadata = new WeakMap<ProxyConfig, Record<string, unknown>>();

/** Istio's node metadata keys, from the proxy's own identity. */
function metadataOf(cfg: ProxyConfig): Record<string, unknown> {
  let m = nodeMetadata.get(cfg);
  if (m === undefined) {
    const p = cfg.proxy;
    const sa = /\/sa\/([^/]+)$/.exec(p.spiffeId)?.[1] ?? '';
    m = {
      NAMESPACE: p.namespace,
      NAME: p.name,
      WORKLOAD_NAME: p.name,
      SERVICE_ACCOUNT: sa,
      LABELS: { ...p.labels },
      CLUSTER_ID: cfg.telemetry?.clusterId ?? 'Kubernetes',
      MESH_ID: cfg.trustDomain,
    };
    nodeMetadata.set(cfg, m);
  }
  return m;
}

export function boundedAttributes(e: AccessLogEntry, cfg: ProxyConfig): Record<string, unknown> {
  const inbound = e.direction === 'inbound';
  const tcp = e.method === 'TCP' || e.method === 'CONNECT';
  return {
    request: { protocol: tcp ? '' : e.httpVersion ?? 'HTTP/1.1' },
    response: { code: e.status, grpc_status: e.grpcStatus ?? -1, flags: e.responseFlags ?? '-' },
    connection: {
      mtls: e.mtls === true,
      uri_san_peer_certificate: (inbound ? e.peer : e.upstreamPrincipal) ?? '',
      uri_san_local_certificate: cfg.proxy.spiffeId,
    },
    node: { metadata: metadataOf(cfg) },
    xds: { cluster_name: e.upstreamCluster ?? (inbound ? `inbound|${e.port ?? ''}||` : '') },
  };
}

function headerMap(h: IncomingHttpHeaders | undefined, e: AccessLogEntry): Record<string, string> {
  const out: Record<string, string> = {};
  if (h !== undefined) {
    for (const k in h) {
      const v = h[k];
      if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
    }
  }
  out[':method'] ??= e.method;
  out[':path'] ??= e.path;
  out[':authority'] ??= e.authority;
  return out;
}

/** Everything a filter may read: the bounded attributes and the request as it came. */
export function filterAttributes(e: AccessLogEntry, cfg: ProxyConfig): Record<string, unknown> {
  const a = boundedAttributes(e, cfg);
  const q = e.path.indexOf('?');
  const headers = headerMap(e.requestHeaders, e);
  Object.assign(a['request'] as object, {
    headers,
    path: e.path,
    url_path: q < 0 ? e.path : e.path.slice(0, q),
    query: q < 0 ? '' : e.path.slice(q + 1),
    host: e.authority,
    method: e.method,
    scheme: headers[':scheme'] ?? 'http',
    useragent: e.userAgent ?? '',
    id: e.requestId ?? '',
    referer: headers['referer'] ?? '',
    size: e.requestBytes ?? 0,
    total_size: e.requestBytes ?? 0,
  });
  Object.assign(a['response'] as object, { size: e.responseBytes ?? 0, total_size: e.responseBytes ?? 0, code_details: e.reason ?? '' });
  a['upstream'] = { address: e.upstreamHost ?? '' };
  return a;
}
