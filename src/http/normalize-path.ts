/**
 * Istio's path normalisation modes (meshConfig.pathNormalization), applied the way Envoy's HTTP connection
 * manager applies them: escaped slashes first (DECODE_AND_MERGE_SLASHES), then RFC 3986 canonicalisation
 * (BASE and stronger), then slash merging (MERGE_SLASHES and stronger). Routing and authorization call this
 * one function so that the path a route matched is the path a policy judged.
 */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export type NormalizedPath = { path: string } | { reject: 400 };

const HEX = /^[0-9a-fA-F]{2}$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * Decodes percent-escapes of unreserved characters only; every other escape is kept byte-for-byte (its hex
 * case too), because decoding `%2F` or `%5C` here would change which segments exist. A malformed escape or
 * an escaped NUL makes the path unusable, so the request is refused rather than guessed at.
 */
function decodeUnreserved(path: string): string | null {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return null;
    const ch = String.fromCharCode(parseInt(hex, 16));
    if (ch === '\0') return null;
    out += UNRESERVED.test(ch) ? ch : `%${hex}`;
    i += 2;
  }
  return out;
}

/** RFC 3986 §5.2.4 dot-segment removal; a trailing `.` or `..` leaves a trailing slash, as browsers do. */
function removeDotSegments(path: string): string {
  const segments = path.split('/').slice(1);
  const out: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

function canonicalize(path: string): string | null {
  const decoded = decodeUnreserved(path);
  if (decoded === null) return null;
  let p = decoded.replace(/\\/g, '/');
  if (!p.startsWith('/')) p = '/' + p;
  return removeDotSegments(p);
}

export function normalizePath(rawPath: string, mode: PathNormalization): NormalizedPath {
  if (mode === 'NONE') return { path: rawPath };
  const q = rawPath.indexOf('?');
  const query = q < 0 ? '' : rawPath.slice(q);
  let path = q < 0 ? rawPath : rawPath.slice(0, q);
  // A fragment is never sent to the upstream, so it must not take part in matching either.
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);

  switch (mode) {
    case 'DECODE_AND_MERGE_SLASHES':
      path = path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
      break;
    case 'BASE':
    case 'MERGE_SLASHES':
      break;
    default: {
      const unknown: never = mode;
      throw new TypeError(`unknown path normalization ${String(unknown)}`);
    }
  }
  const canonical = canonicalize(path);
  if (canonical === null) return { reject: 400 };
  path = canonical;
  if (mode !== 'BASE') path = path.replace(/\/{2,}/g, '/');
  return { path: path + query };
}

/** The path without its query string: what AuthorizationPolicy `paths` match against. */
export function pathWithoutQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}
