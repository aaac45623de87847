/**
 * The path a request is routed (and, later, authorized) on: split from the query and normalised once, so that
 * routing and policy always judge the same path. Normalisation is Istio's default (BASE: RFC 3986 dot-segments,
 * backslashes as slashes, unreserved escapes decoded).
 */
import { normalizePath } from '../../http/normalize-path.js';

export interface RequestPath {
  path: string;
  /** The query including its leading `?`, or ''. Kept byte for byte for the upstream. */
  rawQuery: string;
  query: URLSearchParams | undefined;
}

export function normalizeRequestPath(url: string): RequestPath | undefined {
  if (!url.startsWith('/')) return undefined;
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q);
  // The same function authorization uses, so `/a/%2e%2e/b` is `/b` for the route as it is for the policy.
  const normalized = normalizePath(rawPath, 'BASE');
  if ('reject' in normalized) return undefined;
  return { path: normalized.path, rawQuery, query: rawQuery ? new URLSearchParams(rawQuery.slice(1)) : undefined };
}
