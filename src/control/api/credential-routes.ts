/**
 * The API routes behind `weft auth`: issuing, listing and revoking credentials (mesh-admin's, checked by the
 * handler from the route table) and `can-i`, which any valid credential may ask about itself.
 */
import { randomBytes } from 'node:crypto';
import { tryParseDuration } from '../../config/duration.js';
import { WeftError } from '../../errors.js';
import type { ApiDeps, RouteRequest } from './routes.js';
import { ALL_NAMESPACES, ROLE_NAMES, authorize, isApiVerb, isRoleName } from './rbac.js';

function badRequest(message: string): WeftError {
  return new WeftError('BAD_REQUEST', message, { status: 400 });
}

function record(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw badRequest(`${field} must be a non-empty string`);
  return v;
}

/** Body: `{ role, namespaces?: string[], expires?: "720h", name? }`. Answers the secret, once. */
export async function createApiCredential(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const body = record(req.body);
  const role = body['role'];
  if (typeof role !== 'string' || !isRoleName(role)) throw badRequest(`role must be one of ${ROLE_NAMES.join(', ')}`);
  const namespaces = body['namespaces'] ?? [];
  if (!Array.isArray(namespaces) || !namespaces.every((n): n is string => typeof n === 'string')) {
    throw badRequest('namespaces must be an array of namespace names');
  }
  const expires = optionalString(body, 'expires');
  const ttlMs = expires === undefined ? undefined : tryParseDuration(expires);
  if (expires !== undefined && (ttlMs === undefined || ttlMs <= 0)) {
    throw badRequest(`expires ${JSON.stringify(expires)} must be a positive duration such as "30m", "12h" or "720h"`);
  }
  const name = optionalString(body, 'name') ?? `${role}-${randomBytes(4).toString('hex')}`;
  return deps.credentials.create({ name, role, namespaces, ...(ttlMs === undefined ? {} : { ttlMs }) });
}

export async function listCredentials(deps: ApiDeps): Promise<unknown> {
  return { credentials: await deps.credentials.list() };
}

export async function revokeCredential(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  return { credential: await deps.credentials.revoke(req.params['name'] ?? '') };
}

/** Body: `{ verb, kind, namespace? }`; answered with the same decision the API takes, about the caller. */
export async function canI(deps: ApiDeps, req: RouteRequest): Promise<unknown> {
  const body = record(req.body);
  const verb = body['verb'];
  if (typeof verb !== 'string' || !isApiVerb(verb)) throw badRequest('verb must be one of get, list, watch, create, update, delete');
  const kind = optionalString(body, 'kind');
  if (kind === undefined) throw badRequest('kind must be a non-empty string');
  const namespace = optionalString(body, 'namespace') ?? ALL_NAMESPACES;
  const decision = authorize(req.principal, verb, kind, namespace, deps.rootNamespace);
  const { name, bindings } = req.principal;
  return { principal: { name, bindings }, ...decision };
}
