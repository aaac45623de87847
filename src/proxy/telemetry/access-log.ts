/**
 * Telemetry taps: every finished request or connection goes to the metrics and the access log (written off the
 * request path by access-log-writer.ts). A tap never changes the request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RateLimitScope } from '../ratelimit/rate-limit-buckets.js';
import type { HopTrace } from './trace-context.js';

/** How an outbound destination outside the mesh registry was decided (Istio's PassthroughCluster/BlackHoleCluster). */
export interface EgressDecision {
  decision: 'external' | 'passthrough' | 'denied';
  protocol: 'http' | 'tls' | 'tcp';
  /** `namespace/name` of the ServiceEntry that matched. */
  serviceEntry?: string;
  /** The server name of a TLS connection's ClientHello. */
  sni?: string;
}

export interface AccessLogEntry {
  direction: 'inbound' | 'outbound' | 'gateway';
  method: string;
  authority: string;
  path: string;
  status: number;
  durationMs: number;
  upstream?: string;
  /**
   * The mesh service (FQDN) or ServiceEntry host the request was for, taken from config alone: metric labels are
   * built from it, so it never holds what a client wrote. Absent when nothing in config matched.
   */
  destinationService?: string;
  peer?: string;
  reason?: string;
  requestId?: string;
  /** The authorization verdict, naming the deciding policy (`namespace/name`) and rule. */
  authz?: { decision: string; policy: string | null; rule: number | null };
  /** What dry-run policies would have done. */
  dryRun?: Array<{ policy: string; rule: number | null; action: string; wouldDeny: boolean }>;
  egress?: EgressDecision;
  /** Envoy's response flags, comma-separated (NR, UH, UO, UF, UC, UT, URX, FI, DI, RL, ...); absent when none. */
  responseFlags?: string;
  /** Upstream attempts, when retries made more than one. */
  attempts?: number;
  /** The LocalRateLimitPolicy (`namespace/name`) that refused the request, and which of its limits. */
  rateLimit?: { policy: string; scope: RateLimitScope };
  /**
   * Whether the hop was mutual TLS: inbound, the caller presented a verified certificate; outbound, the endpoint
   * was reached over mTLS and presented `upstreamPrincipal`.
   */
  mtls?: boolean;
  /** Outbound: the SPIFFE ID the endpoint had to present (config's, checked by the handshake). */
  upstreamPrincipal?: string;
  /** Outbound: the endpoint's address and port, and the cluster (`outbound|port|subset|host`) it was chosen from. */
  upstreamHost?: string;
  upstreamCluster?: string;
  /** Inbound: the caller's workload as its proxy named it; only a lookup key, checked against the verified peer. */
  peerWorkload?: string;
  /** `grpc` when the request's content-type is gRPC, else HTTP (absent). */
  protocol?: 'grpc';
  /** The gRPC status of a gRPC answer (0..16: the upstream's trailers, or the one the proxy answered with), when one came. */
  grpcStatus?: number;
  /** A gRPC call's messages: sent by the client and passed on, sent by the server and passed on (gRPC calls only). */
  grpcRequestMessages?: number;
  grpcResponseMessages?: number;
  /** Body bytes: the request's declared length, and the response bytes passed on. */
  requestBytes?: number;
  responseBytes?: number;
  userAgent?: string;
  /** The client's X-Forwarded-For, bounded (access log only). */
  forwardedFor?: string;
  /** `HTTP/2` for HTTP/2 requests; absent is HTTP/1.1. */
  httpVersion?: 'HTTP/2';
  /** The W3C trace id of the request's trace, when tracing is on. */
  traceId?: string;
  /** The port the request was for: the service port outbound and at the gateway, the app port inbound. */
  port?: number;
  /** The request's headers as they came, for access-log filters only (never logged whole, never a metric label). */
  requestHeaders?: IncomingHttpHeaders;
  /**
   * An opaque TCP connection's client-side socket (not logged): its byte counts so far, which the metrics report
   * every Telemetry `reportingInterval` while it stays open.
   */
  connection?: { readonly bytesRead: number; readonly bytesWritten: number };
  /** This hop's place in the trace (not logged: `traceId` is). */
  trace?: HopTrace;
}

/** Where every finished request or connection is reported: the access log and the metrics. */
export interface Telemetry {
  record(entry: AccessLogEntry): void;
  /** An opaque TCP connection was established; its `record` follows when it closes. */
  opened?(entry: AccessLogEntry): void;
}

export interface TelemetrySinks {
  metrics: { record(e: AccessLogEntry): void; opened(e: AccessLogEntry): void };
  /** Absent when the access log is off. */
  accessLog?: { write(e: AccessLogEntry): void } | undefined;
  spans?: { record(e: AccessLogEntry): void } | undefined;
}

export function proxyTelemetry(sinks: TelemetrySinks): Telemetry {
  const { metrics, accessLog, spans } = sinks;
  return {
    opened: (entry) => metrics.opened(entry),
    record(entry) {
      if (entry.trace !== undefined) entry.traceId = entry.trace.traceId;
      metrics.record(entry);
      spans?.record(entry);
      accessLog?.write(entry);
    },
  };
}
