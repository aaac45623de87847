/**
 * A DestinationRule's traffic policy as the proxy runs it: one cluster per (service port, subset), Istio's defaults
 * filled in and durations in milliseconds, so the proxy never interprets user YAML.
 */
import { parseDuration } from '../../config/duration.js';
import type { TrafficPolicy } from '../../config/kinds/traffic-policy.js';
import type { ClusterConfig, HashKeyPolicy, LoadBalancerPolicy, TrafficPolicyConfig } from '../../proxyconfig/types.js';
import { destinationRuleFor, policyForPort } from './destination-rule.js';
import type { ClientProxy } from './destination-rule.js';
import type { MeshSnapshot } from './snapshot.js';

/** Istio's "2^32-1" default for every circuit-breaker limit: no limit in practice. */
export const UNLIMITED = 4_294_967_295;

// Envoy's and Istio's documented defaults.
const DEFAULT_RING_SIZE = 1024;
const DEFAULT_MAGLEV_TABLE = 65_537;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 3_600_000;
const DEFAULT_INTERVAL_MS = 10_000;
const DEFAULT_BASE_EJECTION_MS = 30_000;
const DEFAULT_MAX_EJECTION_MS = 300_000;
const DEFAULT_CONSECUTIVE_5XX = 5;
const DEFAULT_LOCAL_ORIGIN_FAILURES = 5;
const DEFAULT_MAX_EJECTION_PERCENT = 10;
const DEFAULT_MAX_CONCURRENT_STREAMS = 2_147_483_647;

const ms = (d: string | undefined, fallback: number): number => (d === undefined ? fallback : parseDuration(d));
/** Istio's int32 limits: 0 (or unset) means the default, "unlimited". */
const limit = (n: number | undefined): number => (n === undefined || n === 0 ? UNLIMITED : n);

export function compileTrafficPolicy(p: TrafficPolicy | undefined): TrafficPolicyConfig {
  const lb = p?.loadBalancer;
  const tcp = p?.connectionPool?.tcp;
  const http = p?.connectionPool?.http;
  const od = p?.outlierDetection;
  const tls = p?.tls;
  const warmupMs = lb?.warmup?.duration ?? lb?.warmupDurationSecs;
  return {
    loadBalancer: loadBalancerOf(p),
    warmup:
      warmupMs === undefined || parseDuration(warmupMs) === 0
        ? null
        : { durationMs: parseDuration(warmupMs), minimumPercent: lb?.warmup?.minimumPercent ?? 10, aggression: lb?.warmup?.aggression ?? 1 },
    localityLbSetting: lb?.localityLbSetting === undefined ? null : { ...lb.localityLbSetting },
    connectionPool: {
      maxConnections: limit(tcp?.maxConnections),
      maxPendingRequests: limit(http?.http1MaxPendingRequests),
      maxRequests: limit(http?.http2MaxRequests),
      maxRetries: limit(http?.maxRetries),
      maxRequestsPerConnection: http?.maxRequestsPerConnection ?? 0,
      connectTimeoutMs: ms(tcp?.connectTimeout, DEFAULT_CONNECT_TIMEOUT_MS),
      tcpIdleTimeoutMs: ms(tcp?.idleTimeout, DEFAULT_IDLE_TIMEOUT_MS),
      httpIdleTimeoutMs: ms(http?.idleTimeout, DEFAULT_IDLE_TIMEOUT_MS),
      maxConnectionDurationMs: ms(tcp?.maxConnectionDuration, 0),
      tcpKeepalive:
        tcp?.tcpKeepalive === undefined
          ? null
          : {
              probes: tcp.tcpKeepalive.probes ?? null,
              timeMs: tcp.tcpKeepalive.time === undefined ? null : parseDuration(tcp.tcpKeepalive.time),
              intervalMs: tcp.tcpKeepalive.interval === undefined ? null : parseDuration(tcp.tcpKeepalive.interval),
            },
      h2UpgradePolicy: http?.h2UpgradePolicy ?? 'DEFAULT',
      useClientProtocol: http?.useClientProtocol ?? false,
      maxConcurrentStreams: http?.maxConcurrentStreams === undefined || http.maxConcurrentStreams === 0 ? DEFAULT_MAX_CONCURRENT_STREAMS : http.maxConcurrentStreams,
      // Only when set: most clusters have none, and every byte is in every proxy's config.
      ...(http?.http2KeepAlive?.interval !== undefined && http.http2KeepAlive.timeout !== undefined && { http2KeepAlive: { intervalMs: parseDuration(http.http2KeepAlive.interval), timeoutMs: parseDuration(http.http2KeepAlive.timeout) } }),
    },
    outlierDetection:
      od === undefined
        ? null
        : {
            consecutive5xx: od.consecutive5xxErrors ?? DEFAULT_CONSECUTIVE_5XX,
            // The deprecated consecutiveErrors counts gateway errors, as Istio maps it.
            consecutiveGatewayErrors: od.consecutiveGatewayErrors ?? (od.consecutiveErrors !== undefined && od.consecutiveErrors > 0 ? od.consecutiveErrors : 0),
            consecutiveLocalOriginFailures: od.consecutiveLocalOriginFailures ?? DEFAULT_LOCAL_ORIGIN_FAILURES,
            splitExternalLocalOriginErrors: od.splitExternalLocalOriginErrors ?? false,
            intervalMs: ms(od.interval, DEFAULT_INTERVAL_MS),
            baseEjectionTimeMs: ms(od.baseEjectionTime, DEFAULT_BASE_EJECTION_MS),
            maxEjectionTimeMs: DEFAULT_MAX_EJECTION_MS,
            maxEjectionPercent: od.maxEjectionPercent ?? DEFAULT_MAX_EJECTION_PERCENT,
            minHealthPercent: od.minHealthPercent ?? 0,
          },
    tls:
      tls === undefined
        ? null
        : {
            mode: tls.mode ?? 'DISABLE',
            sni: tls.sni ?? null,
            subjectAltNames: tls.subjectAltNames ?? [],
            caCertificates: tls.caCertificates ?? null,
            clientCertificate: tls.clientCertificate ?? null,
            privateKey: tls.privateKey ?? null,
            credentialName: tls.credentialName ?? null,
            insecureSkipVerify: tls.insecureSkipVerify ?? false,
            ...(tls.caCrl !== undefined && { caCrl: tls.caCrl }),
          },
    tunnel: p?.tunnel === undefined ? null : { protocol: p.tunnel.protocol ?? 'CONNECT', targetHost: p.tunnel.targetHost, targetPort: p.tunnel.targetPort },
    proxyProtocol: p?.proxyProtocol === undefined ? null : (p.proxyProtocol.version ?? 'V1'),
  };
}

function loadBalancerOf(p: TrafficPolicy | undefined): LoadBalancerPolicy {
  const lb = p?.loadBalancer;
  const ch = lb?.consistentHash;
  if (ch === undefined) {
    const simple = lb?.simple;
    // UNSPECIFIED lets Istio choose: its choice is LEAST_REQUEST, and LEAST_CONN is its deprecated name.
    if (simple === undefined || simple === 'UNSPECIFIED' || simple === 'LEAST_CONN') return { policy: 'LEAST_REQUEST' };
    return { policy: simple };
  }
  const key: HashKeyPolicy =
    ch.httpHeaderName !== undefined
      ? { header: ch.httpHeaderName.toLowerCase() }
      : ch.httpCookie !== undefined
        ? { cookie: { name: ch.httpCookie.name, path: ch.httpCookie.path ?? null, ttlMs: ch.httpCookie.ttl === undefined ? null : parseDuration(ch.httpCookie.ttl) } }
        : ch.httpQueryParameterName !== undefined
          ? { queryParameter: ch.httpQueryParameterName }
          : { sourceIp: true };
  if (ch.maglev !== undefined) return { policy: 'MAGLEV', hashKey: key, tableSize: Number(ch.maglev.tableSize ?? DEFAULT_MAGLEV_TABLE) };
  const ring = ch.ringHash?.minimumRingSize ?? ch.minimumRingSize;
  return { policy: 'RING_HASH', hashKey: key, minimumRingSize: ring === undefined || Number(ring) === 0 ? DEFAULT_RING_SIZE : Number(ring) };
}

/**
 * Every cluster a client may send to for one service: per port, the whole service and each subset the applied
 * DestinationRule defines. A route to a subset no rule defines finds no cluster (Istio answers 503 NR).
 */
export function compileClusters(snap: MeshSnapshot, client: ClientProxy, service: { host: string; namespace: string; ports: readonly { port: number }[] }): ClusterConfig[] {
  const rule = destinationRuleFor(snap, client, service);
  const sources = rule?.sources ?? [];
  return service.ports.flatMap(({ port }) => [
    { name: `outbound|${port}||${service.host}`, host: service.host, port, subset: null, labels: {}, destinationRules: sources, policy: compileTrafficPolicy(policyForPort(rule?.trafficPolicy, undefined, port)) },
    ...(rule?.subsets ?? []).map((s) => ({
      name: `outbound|${port}|${s.name}|${service.host}`,
      host: service.host,
      port,
      subset: s.name,
      labels: s.labels ?? {},
      destinationRules: sources,
      policy: compileTrafficPolicy(policyForPort(rule?.trafficPolicy, s.trafficPolicy, port)),
    })),
  ]);
}
