/**
 * Telemetry taps: one JSON access-log line per request on stdout (Envoy-style fields) and the metrics. A tap
 * never changes the request. Lines are written through the stream's own buffering; nothing is formatted unless
 * logging is on.
 */
export interface AccessLogEntry {
  direction: 'inbound' | 'outbound' | 'gateway';
  method: string;
  authority: string;
  path: string;
  status: number;
  durationMs: number;
  upstream?: string;
  peer?: string;
  reason?: string;
  requestId?: string;
  /** The authorization verdict, naming the deciding policy (`namespace/name`) and rule. */
  authz?: { decision: string; policy: string | null; rule: number | null };
  /** What dry-run policies would have done. */
  dryRun?: Array<{ policy: string; rule: number | null; action: string; wouldDeny: boolean }>;
}

/** Where every finished request or connection is reported: the access log and the metrics. */
export interface Telemetry {
  record(entry: AccessLogEntry): void;
}

export function proxyTelemetry(accessLog: boolean, metrics: { record(e: AccessLogEntry): void }): Telemetry {
  return {
    record(entry) {
      metrics.record(entry);
      if (accessLog) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: 'access', ...entry })}\n`);
    },
  };
}
