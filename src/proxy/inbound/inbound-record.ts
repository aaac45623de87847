/** The access-log record of one inbound request, HTTP/1.1 or HTTP/2: what arrived, from whom, and how it ended. */
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AuthzDecision } from '../../authz/index.js';
import { authzLogFields } from '../security/authz-log.js';
import type { RateLimitVerdict } from '../ratelimit/local-rate-limits.js';

export type InboundFinish = (status: number, reason?: string, decision?: AuthzDecision) => void;

/** What is known of a request when it arrives; `service` is filled in once the app port is known. */
export interface InboundRequestRecord {
  method: string;
  authority: string;
  path: string;
  peer: string | undefined;
  service?: string | undefined;
  /** Set when a LocalRateLimitPolicy refused the request. */
  rateLimit?: RateLimitVerdict | undefined;
}

export function inboundFinish(rt: ProxyRuntime, r: InboundRequestRecord): InboundFinish {
  const started = performance.now();
  return (status, reason, decision) =>
    rt.telemetry.record({
      direction: 'inbound',
      method: r.method,
      authority: r.authority,
      path: r.path,
      status,
      durationMs: performance.now() - started,
      peer: r.peer,
      destinationService: r.service,
      reason,
      ...authzLogFields(decision),
      ...(r.rateLimit ? { responseFlags: 'RL', rateLimit: r.rateLimit } : {}),
    });
}
