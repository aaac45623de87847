/**
 * The control plane's API as one request handler for `http2.createSecureServer({ allowHTTP1: true })`.
 * Order of checks: route under /api/ (else not ours), credential (401), route and method (404/405), the route's
 * permission (403), body (413/400), then the route itself. Every answer is JSON.
 *
 * Every route states its access: a permission known from the path alone is checked here before the body is read;
 * a route whose permission depends on its body (which kinds an apply writes) checks each item through
 * `req.authorize` before it changes anything; a self-service route (can-i) needs only a valid credential.
 * Whatever refused the call, its one audit entry is written here, after the answer is decided (refusal-audit.ts).
 */
import { WeftError } from '../../errors.js';
import { canI, createApiCredential, listCredentials, revokeCredential } from './credential-routes.js';
import type { ApiPrincipal } from './credentials.js';
import { errorResponse, readJsonBody, sendJson } from './json-exchange.js';
import type { ApiRequest, ApiResponse } from './json-exchange.js';
import { ALL_NAMESPACES, authorize } from './rbac.js';
import type { ApiVerb } from './rbac.js';
import {
  applyResources,
  deleteResources,
  getResource,
  issueToken,
  listProxies,
  listResources,
  putStatus,
  readAudit,
} from './routes.js';
import type { ApiDeps, RouteRequest } from './routes.js';
import { readAuditLog, readEnforcedConfig, readHistory, rollbackResource } from './history-routes.js';
import { auditRefusal } from './refusal-audit.js';
import { readProxyConfig, readProxyRuntime } from './proxy-config-routes.js';
import type { Denial } from './refusal-audit.js';

export type { ApiDeps, AppliedItem, ApplyResponse, TokenSubject } from './routes.js';

type Method = 'GET' | 'POST' | 'PUT';

interface Route {
  method: Method;
  /** Path segments after /api/v1/; `:name` captures one segment. */
  pattern: string[];
  access: RouteAccess;
  run: (deps: ApiDeps, req: RouteRequest) => Promise<unknown>;
}

type RouteAccess =
  | { verb: ApiVerb; kind: string | 'from-path'; namespace: 'from-path' | typeof ALL_NAMESPACES }
  | 'per-item'
  | 'self';

const API_PREFIX = '/api/';
const V1_PREFIX = '/api/v1/';

const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: ['resources'], access: 'per-item', run: listResources },
  { method: 'GET', pattern: ['resources', ':kind', ':namespace', ':name'], access: { verb: 'get', kind: 'from-path', namespace: 'from-path' }, run: getResource },
  { method: 'POST', pattern: ['apply'], access: 'per-item', run: applyResources },
  { method: 'POST', pattern: ['delete'], access: 'per-item', run: deleteResources },
  { method: 'GET', pattern: ['audit'], access: { verb: 'list', kind: 'AuditRecord', namespace: ALL_NAMESPACES }, run: readAudit },
  { method: 'GET', pattern: ['audit', 'log'], access: { verb: 'list', kind: 'AuditRecord', namespace: ALL_NAMESPACES }, run: readAuditLog },
  { method: 'GET', pattern: ['audit', 'enforced'], access: { verb: 'list', kind: 'AuditRecord', namespace: ALL_NAMESPACES }, run: readEnforcedConfig },
  { method: 'GET', pattern: ['history', ':kind', ':namespace', ':name'], access: { verb: 'get', kind: 'from-path', namespace: 'from-path' }, run: readHistory },
  // Reading the revision asked for needs get; the change it makes is checked as that change (apply or delete).
  { method: 'POST', pattern: ['rollback', ':kind', ':namespace', ':name'], access: { verb: 'get', kind: 'from-path', namespace: 'from-path' }, run: rollbackResource },
  { method: 'PUT', pattern: ['status', ':kind', ':namespace', ':name'], access: { verb: 'update', kind: 'from-path', namespace: 'from-path' }, run: putStatus },
  { method: 'POST', pattern: ['tokens'], access: 'per-item', run: issueToken },
  { method: 'GET', pattern: ['proxies'], access: { verb: 'list', kind: 'ProxyStatus', namespace: ALL_NAMESPACES }, run: listProxies },
  { method: 'GET', pattern: ['proxies', ':role', ':namespace', ':name', 'config'], access: { verb: 'get', kind: 'ProxyStatus', namespace: ALL_NAMESPACES }, run: readProxyConfig },
  { method: 'GET', pattern: ['proxies', ':role', ':namespace', ':name', 'runtime'], access: { verb: 'get', kind: 'ProxyStatus', namespace: ALL_NAMESPACES }, run: readProxyRuntime },
  { method: 'GET', pattern: ['credentials'], access: { verb: 'list', kind: 'Credential', namespace: ALL_NAMESPACES }, run: listCredentials },
  { method: 'POST', pattern: ['credentials'], access: { verb: 'create', kind: 'Credential', namespace: ALL_NAMESPACES }, run: createApiCredential },
  { method: 'POST', pattern: ['credentials', ':name', 'revoke'], access: { verb: 'delete', kind: 'Credential', namespace: ALL_NAMESPACES }, run: revokeCredential },
  { method: 'POST', pattern: ['can-i'], access: 'self', run: canI },
];

function matchPattern(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of pattern.entries()) {
    const s = segments[i] as string;
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}

function decodeSegments(pathname: string): string[] {
  try {
    return pathname.slice(V1_PREFIX.length).split('/').map(decodeURIComponent);
  } catch {
    throw new WeftError('BAD_REQUEST', `malformed percent-encoding in ${pathname}`, { status: 400 });
  }
}

/** The route and its params, or the error that answers instead (404 unknown, 405 wrong method). */
function resolve(method: string, pathname: string): { route: Route; params: Record<string, string> } {
  const segments = pathname.startsWith(V1_PREFIX) ? decodeSegments(pathname) : undefined;
  const allowed: Method[] = [];
  for (const route of segments === undefined ? [] : ROUTES) {
    const params = matchPattern(route.pattern, segments as string[]);
    if (params === undefined) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    throw new WeftError('BAD_REQUEST', `method ${method} is not allowed on ${pathname}`, {
      status: 405,
      detail: { allow: allowed },
    });
  }
  throw new WeftError('NOT_FOUND', `no such API route: ${method} ${pathname}`, { status: 404 });
}

function bearer(req: ApiRequest): string | undefined {
  const header = req.headers['authorization'];
  const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
  return match?.[1];
}

async function authenticate(deps: ApiDeps, req: ApiRequest): Promise<ApiPrincipal> {
  const secret = bearer(req);
  if (secret === undefined) {
    throw new WeftError('UNAUTHENTICATED', 'a credential is required: Authorization: Bearer <credential>', {
      status: 401,
    });
  }
  return deps.credentials.verify(secret);
}

/** What each FORBIDDEN the role check raised was about, for the refusal's audit entry (written once, in the handler). */
const denials = new WeakMap<WeftError, Denial>();

/** The check routes call: a refusal is answered 403 naming the missing permission. */
function authorizer(deps: ApiDeps, principal: ApiPrincipal): RouteRequest['authorize'] {
  return async (verb, kind, namespace, name = '') => {
    const decision = authorize(principal, verb, kind, namespace, deps.rootNamespace);
    if (decision.allowed) return;
    const err = new WeftError('FORBIDDEN', decision.reason, { status: 403, detail: { missing: decision.missing } });
    denials.set(err, { verb, key: { kind, namespace, name }, missing: decision.missing });
    throw err;
  };
}

async function checkRouteAccess(access: RouteAccess, params: Record<string, string>, check: RouteRequest['authorize']): Promise<void> {
  if (access === 'per-item' || access === 'self') return;
  const kind = access.kind === 'from-path' ? (params['kind'] ?? '') : access.kind;
  const namespace = access.namespace === 'from-path' ? (params['namespace'] ?? '') : access.namespace;
  await check(access.verb, kind, namespace, params['name'] ?? '');
}

function challenge(err: unknown): Record<string, string> {
  if (!(err instanceof WeftError)) return {};
  if (err.code === 'UNAUTHENTICATED') return { 'www-authenticate': 'Bearer realm="weft"' };
  const allow = err.status === 405 ? err.detail?.['allow'] : undefined;
  return Array.isArray(allow) ? { allow: allow.join(', ') } : {};
}

/** Answers requests under /api/ and returns true; anything else is left to the caller (false). */
export function createApiHandler(deps: ApiDeps): (req: ApiRequest, res: ApiResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://control-plane');
    if (!url.pathname.startsWith(API_PREFIX)) return false;
    const method = (req.method ?? 'GET').toUpperCase();
    let principal: ApiPrincipal | undefined;
    try {
      principal = await authenticate(deps, req);
      const { route, params } = resolve(method, url.pathname);
      const check = authorizer(deps, principal);
      await checkRouteAccess(route.access, params, check);
      const body = method === 'GET' ? undefined : await readJsonBody(req);
      const result = await route.run(deps, { principal, params, query: url.searchParams, body, authorize: check });
      sendJson(res, 200, result);
    } catch (err) {
      const { status, body } = errorResponse(err);
      if (status === 500) deps.onInternalError?.(err);
      const denial = err instanceof WeftError ? denials.get(err) : undefined;
      const source = req.socket?.remoteAddress ?? 'unknown';
      await auditRefusal(deps, { method, path: url.pathname, source, principal, status, error: body.error, denial });
      if (!res.headersSent) sendJson(res, status, body, challenge(err));
      else res.end();
    }
    return true;
  };
}
