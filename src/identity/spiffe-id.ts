/**
 * SPIFFE IDs (`spiffe://<trust-domain>/<path>`), parsed and validated by the SPIFFE-ID standard, sections 2.1
 * to 2.3. Parsing is by hand, not `new URL()`: WHATWG URL parsing normalizes (lowercases, resolves `..`,
 * decodes), and an identity must be accepted exactly as written or refused.
 */
import { WeftError } from '../errors.js';

export interface SpiffeId {
  /** Lowercase trust domain name, e.g. `cluster.local`. */
  readonly trustDomain: string;
  /** `''` or a path starting with `/`, e.g. `/ns/default/sa/bookinfo-productpage`. */
  readonly path: string;
  toString(): string;
}

export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

const SCHEME_PREFIX = 'spiffe://';
/** Section 2.3: implementations must support (and should not generate) SPIFFE IDs longer than this. */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** Section 2.3: the trust domain is a URI host, limited to 255 bytes. */
export const MAX_TRUST_DOMAIN_BYTES = 255;

const TRUST_DOMAIN_CHAR = /^[a-z0-9._-]$/;
const PATH_SEGMENT = /^[a-zA-Z0-9._-]+$/;

function invalid(input: string, rule: string): WeftError {
  return new WeftError('SPIFFE_ID_INVALID', `invalid SPIFFE ID ${JSON.stringify(input)}: ${rule}`, {
    status: 400,
    detail: { input, rule },
  });
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Throws SPIFFE_ID_INVALID unless `td` is a valid trust domain name (section 2.1). */
export function validateTrustDomain(td: string, input: string = td): void {
  if (td.length === 0) throw invalid(input, 'trust domain is empty');
  if (byteLength(td) > MAX_TRUST_DOMAIN_BYTES) {
    throw invalid(input, `trust domain is longer than ${MAX_TRUST_DOMAIN_BYTES} bytes`);
  }
  if (td.includes('@')) throw invalid(input, 'user info is not allowed in the trust domain');
  if (td.includes(':')) throw invalid(input, 'a port (or colon) is not allowed in the trust domain');
  for (const ch of td) {
    if (TRUST_DOMAIN_CHAR.test(ch)) continue;
    if (ch === '%') throw invalid(input, 'percent-encoding is not allowed');
    if (/[A-Z]/.test(ch)) throw invalid(input, 'trust domain must be lowercase');
    throw invalid(input, `trust domain contains ${JSON.stringify(ch)}; only a-z 0-9 . - _ are allowed`);
  }
}

/** Throws SPIFFE_ID_INVALID unless `path` is `''` or a valid SPIFFE ID path (section 2.2). */
export function validateSpiffePath(path: string, input: string = path): void {
  if (path === '') return;
  if (!path.startsWith('/')) throw invalid(input, 'path must start with "/"');
  if (path.endsWith('/')) throw invalid(input, 'trailing "/" is not allowed');
  for (const segment of path.slice(1).split('/')) validatePathSegment(segment, input);
}

/** Throws SPIFFE_ID_INVALID unless `segment` is one valid path segment (no "/"). */
export function validatePathSegment(segment: string, input: string = segment): void {
  if (segment === '') throw invalid(input, 'empty path segment ("//") is not allowed');
  if (segment === '.' || segment === '..') {
    throw invalid(input, `relative path segment "${segment}" is not allowed`);
  }
  if (!PATH_SEGMENT.test(segment)) {
    if (segment.includes('%')) throw invalid(input, 'percent-encoding is not allowed');
    const bad = [...segment].find((c) => !PATH_SEGMENT.test(c)) ?? '';
    throw invalid(input, `path segment contains ${JSON.stringify(bad)}; only a-z A-Z 0-9 . - _ are allowed`);
  }
}

class ParsedSpiffeId implements SpiffeId {
  constructor(
    readonly trustDomain: string,
    readonly path: string,
  ) {}

  toString(): string {
    return `${SCHEME_PREFIX}${this.trustDomain}${this.path}`;
  }
}

/** Parses and validates a SPIFFE ID; throws SPIFFE_ID_INVALID naming the rule that failed. */
export function parseSpiffeId(input: string): SpiffeId {
  if (typeof input !== 'string') throw new TypeError('parseSpiffeId expects a string');
  if (input.length === 0) throw invalid(input, 'empty');
  if (byteLength(input) > MAX_SPIFFE_ID_BYTES) {
    throw invalid(input, `longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
  }
  const colon = input.indexOf(':');
  if (colon <= 0) throw invalid(input, 'scheme is missing; it must be "spiffe"');
  const scheme = input.slice(0, colon);
  if (scheme !== 'spiffe') {
    throw invalid(
      input,
      scheme.toLowerCase() === 'spiffe' ? 'scheme must be lowercase "spiffe"' : `scheme must be "spiffe", not "${scheme}"`,
    );
  }
  if (!input.startsWith(SCHEME_PREFIX)) throw invalid(input, 'trust domain is missing ("spiffe://" expected)');
  if (input.includes('?')) throw invalid(input, 'query is not allowed');
  if (input.includes('#')) throw invalid(input, 'fragment is not allowed');
  const rest = input.slice(SCHEME_PREFIX.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  validateTrustDomain(trustDomain, input);
  validateSpiffePath(path, input);
  return new ParsedSpiffeId(trustDomain, path);
}

/** Builds a SPIFFE ID from a trust domain and path segments, validating both. */
export function formatSpiffeId(trustDomain: string, ...segments: string[]): string {
  const path = segments.map((s) => `/${s}`).join('');
  const id = `${SCHEME_PREFIX}${trustDomain}${path}`;
  validateTrustDomain(trustDomain, id);
  // Each argument is one segment: a "/" inside one is refused rather than silently making two.
  for (const segment of segments) validatePathSegment(segment, id);
  if (byteLength(id) > MAX_SPIFFE_ID_BYTES) throw invalid(id, `longer than ${MAX_SPIFFE_ID_BYTES} bytes`);
  return id;
}

/** The Istio workload identity `spiffe://<td>/ns/<namespace>/sa/<serviceAccount>`. */
export function workloadSpiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return formatSpiffeId(trustDomain, 'ns', namespace, 'sa', serviceAccount);
}

/** Reads an Istio-form workload identity; any other path shape is SPIFFE_ID_INVALID. */
export function parseWorkloadIdentity(id: string | SpiffeId): WorkloadIdentity {
  const parsed = typeof id === 'string' ? parseSpiffeId(id) : id;
  const segments = parsed.path.split('/').slice(1);
  const [ns, namespace, sa, serviceAccount] = segments;
  if (segments.length !== 4 || ns !== 'ns' || sa !== 'sa' || namespace === undefined || serviceAccount === undefined) {
    throw invalid(parsed.toString(), 'not a workload identity; expected path /ns/<namespace>/sa/<service-account>');
  }
  return { trustDomain: parsed.trustDomain, namespace, serviceAccount };
}
