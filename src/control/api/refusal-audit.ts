/**
 * Which refused API calls go into the audit chain: every call refused for who made it (401, 403), and every
 * change refused for what it asked (a write answered 4xx). A read of something missing is not a refusal.
 * Recording must never change the answer, so a failure to record is reported and the refusal still sent.
 */
import type { ApiPrincipal } from './credentials.js';
import type { ApiDeps } from './routes.js';
import { actorOf } from './routes.js';

export interface RefusedCall {
  method: string;
  path: string;
  principal: ApiPrincipal | undefined;
  status: number;
  error: { code: string; message: string };
}

export function isAuditedRefusal(method: string, status: number): boolean {
  if (status === 401 || status === 403) return true;
  return method !== 'GET' && status >= 400 && status < 500;
}

export async function auditRefusal(deps: ApiDeps, call: RefusedCall): Promise<void> {
  if (!isAuditedRefusal(call.method, call.status)) return;
  try {
    await deps.store.appendAudit({
      type: 'refusal',
      actor: call.principal === undefined ? null : actorOf(call.principal),
      method: call.method,
      path: call.path,
      code: call.error.code,
      status: call.status,
      reason: call.error.message.slice(0, 1024),
    });
  } catch (err) {
    deps.onInternalError?.(err);
  }
}
