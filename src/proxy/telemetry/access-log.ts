/**
 * Access log: one JSON line per request on stdout, Envoy-style fields. A tap: it never changes the request.
 * Lines are written through the stream's own buffering; nothing is formatted unless logging is on.
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

export interface AccessLog {
  readonly enabled: boolean;
  write(entry: AccessLogEntry): void;
}

export function stdoutAccessLog(enabled: boolean): AccessLog {
  return {
    enabled,
    write(entry) {
      if (!enabled) return;
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: 'access', ...entry })}\n`);
    },
  };
}
