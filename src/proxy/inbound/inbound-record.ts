/** The access-log record of one inbound request, HTTP/1.1 or HTTP/2: what arrived, from whom, and how it ended. */
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AuthzDecision } from '../../authz/index.js';
import { authzLogFields } from '../security/authz-log.js';

export type InboundFinish = (status: number, reason?: string, decision?: AuthzDecision) => void;

export function inboundFinish(rt: ProxyRuntime, r: { method: string; authority: string; path: string; peer: string | undefined }): InboundFinish {
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
      reason,
      ...authzLogFields(decision),
    });
}
