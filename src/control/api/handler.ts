/**
 * The control plane's API as one request handler for `http2.createSecureServer({ allowHTTP1: true })`.
 * Order of checks: route under /api/ (else not ours), credential (401), route and method (404/405), role (403),
 * body (413/400), then the route itself. Every answer is JSON.
 */
import { WeftError } from '../../errors.js';
import type { ApiPrincipal } from './credentials.js';
import { errorResponse, readJsonBody, sendJson } from './json-exchange.js';
import type { ApiRequest, ApiResponse } from './json-exchange.js';
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
import { readAuditLog, readHistory, rollbackResource } from './history-routes.js';
import { auditRefusal } from './refusal-audit.js';

export type { ApiDeps, AppliedItem, TokenSubject } from './routes.js';

type Method = 'GET' | 'POST' | 'PUT';

interface Route {
  method: Method;
  /** Path segments after /api/v1/; `:name` captures one segment. */
  pattern: string[];
  run: (deps: ApiDeps, req: RouteRequest) => Promise<unknown>;
}

const API_PREFIX = '/api/';
const V1_PREFIX = '/api/v1/';

const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: ['resources'], run: listResources },
  { method: 'GET', pattern: ['resources', ':kind', ':namespace', ':name'], run: getResource },
  { method: 'POST', pattern: ['apply'], run: applyResources },
  { method: 'POST', pattern: ['delete'], run: deleteResources },
  { method: 'GET', pattern: ['audit'], run: readAudit },
  { method: 'GET', pattern: ['audit', 'log'], run: readAuditLog },
  { method: 'GET', pattern: ['history', ':kind', ':namespace', ':name'], run: readHistory },
  { method: 'POST', pattern: ['rollback', ':kind', ':namespace', ':name'], run: rollbackResource },
  { method: 'PUT', pattern: ['status', ':kind', ':namespace', ':name'], run: putStatus },
  { method: 'POST', pattern: ['tokens'], run: issueToken },
  { method: 'GET', pattern: ['proxies'], run: listProxies },
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
  const principal = await deps.credentials.verify(secret);
  if (principal === undefined) throw new WeftError('UNAUTHENTICATED', 'the credential is not valid', { status: 401 });
  return principal;
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
      if (method !== 'GET' && principal.role !== 'admin') {
        throw new WeftError('FORBIDDEN', `${principal.name} (role ${principal.role}) may only read`, { status: 403 });
      }
      const body = method === 'GET' ? undefined : await readJsonBody(req);
      const result = await route.run(deps, { principal, params, query: url.searchParams, body });
      sendJson(res, 200, result);
    } catch (err) {
      const { status, body } = errorResponse(err);
      if (status === 500) deps.onInternalError?.(err);
      await auditRefusal(deps, { method, path: url.pathname, principal, status, error: body.error });
      if (!res.headersSent) sendJson(res, status, body, challenge(err));
      else res.end();
    }
    return true;
  };
}
