/**
 * What each API route does, given an authenticated principal and a parsed request. Transport (auth, body
 * limits, status mapping) lives in handler.ts; these functions only speak store and resources.
 */
import type { Resource, ResourceKey } from '../../config/resource.js';
import { KINDS } from '../../config/kinds/index.js';
import { withGatewayApiStatus } from '../gateway-api/status-view.js';
import { WeftError, isWeftError } from '../../errors.js';
import type { ApplyResult, AuditActor, ResourceStore, StoredResource } from '../store/types.js';
import type { ApiCredentials, ApiPrincipal } from './credentials.js';
import { revisionOf } from './history-routes.js';
import { ALL_NAMESPACES } from './rbac.js';
import type { ApiVerb } from './rbac.js';
import type { UnauthenticatedTally } from './unauthenticated-tally.js';
import { notFoundMessage } from './resource-names.js';
import { forcedActor } from './admission.js';
import type { AdmissionReport } from './admission.js';
import type { Finding } from '../../analyze/index.js';
import type { ProxyObservation } from './proxy-config-routes.js';

/** The identity a bootstrap token lets one workload claim. */
export interface TokenSubject {
  namespace: string;
  serviceAccount: string;
  workload: string;
}

export interface ApiDeps {
  store: ResourceStore;
  credentials: Pick<ApiCredentials, 'verify' | 'create' | 'list' | 'revoke'>;
  /** The mesh's root namespace: changes there are mesh-admin's alone. */
  rootNamespace: string;
  tokens: { issue(subject: TokenSubject, ttlMs: number): Promise<string> };
  /** Admission (the analyzer) over a validated batch; refuses with ADMISSION_REFUSED unless forced. None: admit all. */
  admit?: (batch: readonly Resource[], force: boolean) => Promise<AdmissionReport>;
  /** The config module's document validation; `origin` names the document in error messages. */
  validate: (doc: unknown, origin: string) => Resource;
  proxyStatus: () => unknown[];
  /** The configs proxies ACKed and their runtime reports; absent, those routes answer 404. */
  proxies?: ProxyObservation;
  /** Told after a Workload's status is stored, so the runtime's view follows without waiting for a watch. */
  onWorkloadStatus?: (workload: StoredResource) => void;
  /** Seals a Secret for the store (secret-sealing.ts), given the stored version; none: stored as applied (tests of other kinds). */
  sealSecret?: (secret: Resource, prior: Resource | undefined) => Resource;
  /** Opens sealed Secrets for a compile from history (`weft audit enforced`); none: they stay sealed. */
  unsealSecrets?: <R extends Resource>(resources: readonly R[]) => R[];
  /** Lifetime of tokens issued through the API; default ten minutes. */
  tokenTtlMs?: number;
  /** Counts unauthenticated calls so that they reach the audit chain a bounded number of times per interval. */
  unauthenticated: UnauthenticatedTally;
  /** Where unexpected (uncoded) failures are reported; the client only sees "internal error". */
  onInternalError?: (err: unknown) => void;
}

export interface RouteRequest {
  principal: ApiPrincipal;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** Resolves if the principal may; otherwise throws FORBIDDEN (403), which the handler audits. */
  authorize(verb: ApiVerb, kind: string, namespace: string, name?: string): Promise<void>;
}

export interface ApplyResponse {
  results: AppliedItem[];
  /** Admission's findings below error on the applied objects. */
  warnings: Finding[];
  /** The errors a forced apply overrode (recorded in the audit actor). */
  forced: Finding[];
}

export interface AppliedItem {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  result: ApplyResult;
}

function badRequest(message: string, detail?: Record<string, unknown>): WeftError {
  return new WeftError('BAD_REQUEST', message, detail === undefined ? { status: 400 } : { status: 400, detail });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayField(body: unknown, field: string): unknown[] {
  if (!isRecord(body) || !Array.isArray(body[field])) throw badRequest(`request body must be an object with a "${field}" array`);
  return body[field];
}

function stringField(body: Record<string, unknown>, field: string, where: string): string {
  const v = body[field];
  if (typeof v !== 'string' || v === '') throw badRequest(`${where}${field} must be a non-empty string`);
  return v;
}

function keyFromParams(params: Record<string, string>): ResourceKey {
  return { kind: params['kind'] ?? '', namespace: params['namespace'] ?? '', name: params['name'] ?? '' };
}

/** The actor of the audit records a principal's changes make: its name and the credential it used. */
export function actorOf(principal: ApiPrincipal): AuditActor {
  return principal.credentialId === undefined ? { name: principal.name } : { name: principal.name, credentialId: principal.credentialId };
}

const apiVersionOf = (kind: string): string | undefined => KINDS.find((k) => k.kind === kind)?.apiVersion;

export async function listResources(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const filter: { kind?: string; namespace?: string } = {};
  const kind = req.query.get('kind');
  const namespace = req.query.get('namespace');
  if (kind !== null && kind !== '') filter.kind = kind;
  if (namespace !== null && namespace !== '') filter.namespace = namespace;
  // Without a kind the list spans every kind, so each must be listable.
  for (const k of filter.kind === undefined ? KINDS.map((i) => i.kind) : [filter.kind]) {
    await req.authorize('list', k, filter.namespace ?? ALL_NAMESPACES);
  }
  const at = req.query.get('at');
  if (at !== null && at !== '') {
    const revision = await revisionOf(deps, at);
    return { revision, items: await withGatewayApiStatus(await deps.store.listAt(filter, revision), () => deps.store.listAt({}, revision)) };
  }
  const [items, revision] = await Promise.all([deps.store.list(filter), deps.store.revision()]);
  return { revision, items: await withGatewayApiStatus(items, () => deps.store.list({})) };
}

export async function getResource(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const key = keyFromParams(req.params);
  const at = req.query.get('at');
  const revision = at === null || at === '' ? undefined : await revisionOf(deps, at);
  const stored = revision === undefined ? await deps.store.get(key) : await deps.store.getAt(key, revision);
  const all = (): Promise<StoredResource[]> => (revision === undefined ? deps.store.list({}) : deps.store.listAt({}, revision));
  const found = stored && (await withGatewayApiStatus([stored], all))[0];
  if (found === undefined) {
    throw new WeftError('NOT_FOUND', notFoundMessage(key.kind, key.name, apiVersionOf(key.kind)), {
      status: 404,
      detail: { key },
    });
  }
  return found;
}

/** Validates every document first and reports every problem, so a bad batch stores nothing. */
export async function applyResources(deps: ApiDeps, req: RouteRequest): Promise<ApplyResponse> {
  const docs = arrayField(req.body, 'resources');
  const resources: Resource[] = [];
  const messages: string[] = [];
  const issues: unknown[] = [];
  docs.forEach((doc, index) => {
    try {
      resources.push(deps.validate(doc, `resources[${index}]`));
    } catch (err) {
      if (!isWeftError(err)) throw err;
      messages.push(err.message);
      const listed = err.detail?.['issues'];
      if (Array.isArray(listed)) issues.push(...(listed as unknown[]));
      else issues.push({ document: index, code: err.code, message: err.message });
    }
  });
  if (messages.length > 0) {
    throw new WeftError('CONFIG_INVALID', messages.join('\n'), { status: 400, detail: { issues } });
  }
  // Apply creates or updates; which one decides the verb, as in Kubernetes' server-side apply. Authorization comes
  // before admission, so a caller learns nothing from the analyzer about what it may not change.
  const priors: (StoredResource | undefined)[] = [];
  for (const r of resources) {
    const key = { kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name };
    const prior = await deps.store.get(key);
    priors.push(prior);
    await req.authorize(prior === undefined ? 'create' : 'update', key.kind, key.namespace, key.name);
  }
  const force = isRecord(req.body) && req.body['force'] === true;
  const admission = deps.admit === undefined ? { warnings: [], forced: [] } : await deps.admit(resources, force);
  // Key material is sealed before it reaches the store: no backend, history or audit body ever holds it in clear.
  const seal = deps.sealSecret;
  const stored = seal === undefined ? resources : resources.map((r, i) => (r.kind === 'Secret' ? seal(r, priors[i]) : r));
  const outcomes = await deps.store.apply(stored, forcedActor(actorOf(req.principal), admission.forced));
  return {
    ...admission,
    results: outcomes.map((o) => ({
      apiVersion: o.resource.apiVersion,
      kind: o.key.kind,
      namespace: o.key.namespace,
      name: o.key.name,
      result: o.result,
    })),
  };
}

export async function deleteResources(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const keys = arrayField(req.body, 'keys').map((k, i): ResourceKey => {
    if (!isRecord(k)) throw badRequest(`keys[${i}] must be an object with kind, namespace and name`);
    const namespace = k['namespace'];
    if (typeof namespace !== 'string') throw badRequest(`keys[${i}].namespace must be a string`);
    return { kind: stringField(k, 'kind', `keys[${i}].`), namespace, name: stringField(k, 'name', `keys[${i}].`) };
  });
  for (const k of keys) await req.authorize('delete', k.kind, k.namespace, k.name);
  try {
    const deleted = await deps.store.delete(keys, actorOf(req.principal));
    return {
      deleted: deleted.map((r) => ({
        apiVersion: r.apiVersion,
        kind: r.kind,
        namespace: r.metadata.namespace,
        name: r.metadata.name,
      })),
    };
  } catch (err) {
    const missing = isWeftError(err, 'NOT_FOUND') ? (err.detail?.['missing'] as ResourceKey[] | undefined) : undefined;
    const first = missing?.[0];
    if (first === undefined || missing === undefined) throw err;
    throw new WeftError('NOT_FOUND', notFoundMessage(first.kind, first.name, apiVersionOf(first.kind)), {
      status: 404,
      detail: { missing },
    });
  }
}

function pageFilter(query: URLSearchParams): { since?: number; limit?: number } {
  const number = (name: string): number | undefined => {
    const raw = query.get(name);
    if (raw === null || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw badRequest(`query parameter ${name} must be a non-negative integer`);
    return n;
  };
  const filter: { since?: number; limit?: number } = {};
  const since = number('since');
  const limit = number('limit');
  if (since !== undefined) filter.since = since;
  if (limit !== undefined) filter.limit = limit;
  return filter;
}

export async function readAudit(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  return { records: await deps.store.audit(pageFilter(req.query)) };
}

export async function putStatus(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  if (!isRecord(req.body) || !('status' in req.body)) throw badRequest('request body must be an object with "status"');
  const key = keyFromParams(req.params);
  try {
    const stored = await deps.store.setStatus(key, req.body['status'], actorOf(req.principal));
    if (stored.kind === 'Workload') deps.onWorkloadStatus?.(stored);
    return stored;
  } catch (err) {
    if (!isWeftError(err, 'NOT_FOUND')) throw err;
    throw new WeftError('NOT_FOUND', notFoundMessage(key.kind, key.name, apiVersionOf(key.kind)), {
      status: 404,
      detail: { key },
    });
  }
}

export async function issueToken(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  if (!isRecord(req.body)) throw badRequest('request body must be an object with namespace, serviceAccount and workload');
  const subject: TokenSubject = {
    namespace: stringField(req.body, 'namespace', ''),
    serviceAccount: stringField(req.body, 'serviceAccount', ''),
    workload: stringField(req.body, 'workload', ''),
  };
  await req.authorize('create', 'BootstrapToken', subject.namespace, subject.workload);
  return { token: await deps.tokens.issue(subject, deps.tokenTtlMs ?? 10 * 60_000) };
}

export async function listProxies(deps: ApiDeps): Promise<unknown> {
  return { proxies: deps.proxyStatus() };
}
