/**
 * Which refused API calls go into the audit chain, and the one place they are written: every call refused for who
 * made it (401, 403), and every change refused for what it asked (a write answered 4xx). A read of something
 * missing is not a refusal. A forbidden call's entry carries what the role check decided (the API verb, the object,
 * the missing permission); unauthenticated calls are tallied per source (unauthenticated-tally.ts) so that
 * strangers cannot grow the chain without bound. Recording must never change the answer, so a failure to record is
 * reported and the refusal still sent.
 */
import type { ResourceKey } from '../../config/resource.js';
import type { MissingPermission, RefusalEvent } from '../store/audit-chain.js';
import type { ApiPrincipal } from './credentials.js';
import type { ApiDeps } from './routes.js';
import { actorOf } from './routes.js';

/** What the role check refused: the request it was asked about and the permission that was missing. */
export interface Denial {
  verb: string;
  key: ResourceKey;
  missing: MissingPermission;
}

export interface RefusedCall {
  method: string;
  path: string;
  source: string;
  principal: ApiPrincipal | undefined;
  status: number;
  error: { code: string; message: string };
  denial: Denial | undefined;
}

export function isAuditedRefusal(method: string, status: number): boolean {
  if (status === 401 || status === 403) return true;
  return method !== 'GET' && status >= 400 && status < 500;
}

export async function auditRefusal(deps: ApiDeps, call: RefusedCall): Promise<void> {
  if (!isAuditedRefusal(call.method, call.status)) return;
  const event: RefusalEvent = {
    type: 'refusal',
    actor: call.principal === undefined ? null : actorOf(call.principal),
    method: call.method,
    path: call.path,
    code: call.error.code,
    status: call.status,
    reason: call.error.message.slice(0, 1024),
    source: call.source,
    ...(call.denial === undefined ? {} : call.denial),
  };
  const events = call.status === 401 ? deps.unauthenticated.note(call.source, event) : [event];
  await appendRefusals(deps, events);
}

/** Writes the tallies of unauthenticated calls whose interval has ended (every one if `all`, at stop). */
export async function flushUnauthenticated(deps: ApiDeps, all = false): Promise<void> {
  await appendRefusals(deps, deps.unauthenticated.flush(all));
}

async function appendRefusals(deps: ApiDeps, events: readonly RefusalEvent[]): Promise<void> {
  for (const event of events) {
    try {
      await deps.store.appendAudit(event);
    } catch (err) {
      deps.onInternalError?.(err);
    }
  }
}
