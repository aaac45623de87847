/**
 * API routes over the audit chain and resource history: reading the chain (which also serves its export), one
 * object's revisions, a revision's state (`?at=`), and rollback, which is an ordinary apply or delete by the
 * caller so that it is validated, admitted and audited like any other change.
 */
import type { ResourceKey } from '../../config/resource.js';
import { WeftError } from '../../errors.js';
import { AUDIT_ENTRY_TYPES } from '../store/audit-chain.js';
import type { AuditEntryType, AuditLogFilter } from '../store/audit-chain.js';
import { enforcedConfig } from '../enforced-config.js';
import type { ApiDeps, RouteRequest } from './routes.js';
import { applyResources, deleteResources } from './routes.js';
import { notFoundMessage } from './resource-names.js';

function badRequest(message: string): WeftError {
  return new WeftError('BAD_REQUEST', message, { status: 400 });
}

function nonNegativeInteger(raw: string, what: string): number {
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`${what} must be a non-negative integer`);
  return n;
}

/** An RFC 3339 time as the store writes times (UTC, milliseconds), or undefined if `raw` is not one. */
export function rfc3339ToIso(raw: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(raw)) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** `at` as a revision: a revision number, or the revision the store was at at an RFC 3339 time. */
export async function revisionOf(deps: ApiDeps, at: string): Promise<number> {
  if (/^\d+$/.test(at)) return nonNegativeInteger(at, 'at');
  const iso = rfc3339ToIso(at);
  if (iso === undefined) throw badRequest(`at must be a revision number or an RFC 3339 time, not ${JSON.stringify(at)}`);
  return deps.store.revisionAt(iso);
}

function keyFromParams(params: Record<string, string>): ResourceKey {
  return { kind: params['kind'] ?? '', namespace: params['namespace'] ?? '', name: params['name'] ?? '' };
}

export async function readAuditLog(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const filter: AuditLogFilter = {};
  const q = (name: string): string | undefined => {
    const v = req.query.get(name);
    return v === null || v === '' ? undefined : v;
  };
  const afterSeq = q('afterSeq');
  if (afterSeq !== undefined) filter.afterSeq = nonNegativeInteger(afterSeq, 'afterSeq');
  const limit = q('limit');
  if (limit !== undefined) filter.limit = nonNegativeInteger(limit, 'limit');
  const since = q('since');
  if (since !== undefined) {
    if (/^\d+$/.test(since)) filter.sinceRevision = nonNegativeInteger(since, 'since');
    else {
      const iso = rfc3339ToIso(since);
      if (iso === undefined) throw badRequest(`since must be a revision number or an RFC 3339 time, not ${JSON.stringify(since)}`);
      filter.sinceTime = iso;
    }
  }
  const kind = q('kind');
  if (kind !== undefined) {
    if ((AUDIT_ENTRY_TYPES as readonly string[]).includes(kind)) filter.type = kind as AuditEntryType;
    else filter.resourceKind = kind;
  }
  return { entries: await deps.store.auditLog(filter) };
}

/** The config a proxy had ACKed at `at` (a revision or an RFC 3339 time), compiled again from history. */
export async function readEnforcedConfig(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const proxy = req.query.get('proxy') ?? '';
  const at = req.query.get('at') ?? '';
  if (proxy === '') throw badRequest('proxy is required (role/namespace/name, as weft status names it)');
  if (/^\d+$/.test(at)) return enforcedConfig(deps.store, proxy, { revision: nonNegativeInteger(at, 'at') }, deps.unsealSecrets);
  const time = rfc3339ToIso(at);
  if (time === undefined) throw badRequest(`at must be a revision number or an RFC 3339 time, not ${JSON.stringify(at)}`);
  return enforcedConfig(deps.store, proxy, { time }, deps.unsealSecrets);
}

export async function readHistory(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const key = keyFromParams(req.params);
  const revisions = await deps.store.history(key);
  if (revisions.length === 0) {
    throw new WeftError('NOT_FOUND', `no history of ${key.kind} ${key.namespace}/${key.name}`, { status: 404, detail: { key } });
  }
  return {
    revisions: revisions.map((r) => ({ revision: r.revision, time: r.time, actor: r.actor, verb: r.verb, contentSha256: r.contentSha256 })),
  };
}

/** Puts the object back as it was at `to` (or deletes it, if it did not exist then), as the caller. */
export async function rollbackResource(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const key = keyFromParams(req.params);
  const body = req.body as { to?: unknown } | null;
  const to = typeof body?.to === 'number' || typeof body?.to === 'string' ? await revisionOf(deps, String(body.to)) : undefined;
  if (to === undefined) throw badRequest('request body must be an object with "to": a revision number or an RFC 3339 time');
  const [then, now] = await Promise.all([deps.store.getAt(key, to), deps.store.get(key)]);
  if (then === undefined) {
    if (now === undefined) {
      throw new WeftError('NOT_FOUND', notFoundMessage(key.kind, key.name, undefined), { status: 404, detail: { key } });
    }
    await deleteResources(deps, { ...req, body: { keys: [key] } });
    return { revision: to, result: 'deleted' };
  }
  const { name, namespace, labels, annotations } = then.metadata;
  const doc = { apiVersion: then.apiVersion, kind: then.kind, metadata: { name, namespace, labels, annotations }, spec: then.spec };
  const { results } = await applyResources(deps, { ...req, body: { resources: [doc] } });
  return { revision: to, result: results[0]?.result ?? 'unchanged' };
}
