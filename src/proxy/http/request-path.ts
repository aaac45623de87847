/**
 * The path a request is routed (and, later, authorized) on: split from the query and normalised once, so that
 * routing and policy always judge the same path. Normalisation is Istio's default (BASE: RFC 3986 dot-segments,
 * backslashes as slashes).
 */
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
  const path = removeDotSegments(rawPath.replaceAll('\\', '/'));
  if (path === undefined) return undefined;
  return { path, rawQuery, query: rawQuery ? new URLSearchParams(rawQuery.slice(1)) : undefined };
}

/** RFC 3986 §5.2.4 on an absolute path; `..` above the root stays at the root, as Envoy does. */
function removeDotSegments(path: string): string | undefined {
  if (!path.includes('.')) return path;
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === '.' || s === '..') {
      if (s === '..') out.pop();
      if (i === segments.length - 1) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}
