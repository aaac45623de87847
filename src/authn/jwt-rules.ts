/**
 * RequestAuthentication jwtRules compiled into one verifier, with Istio's semantics: no token passes
 * without a principal; any token present must verify (signature, issuer, audience, exp/nbf with Envoy's
 * 60 s clock skew) or the request is refused with 401; a verified token is removed from the request unless
 * forwardOriginalToken is set. Verification is jose's, against a local JWKS.
 */
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import type { JwtRuleSpec } from '../config/kinds/request-authentication.js';
import { WeftError } from '../errors.js';
import { ALWAYS_SPACE_DELIMITED, splitSpaceDelimitedClaims } from './space-delimited-claims.js';
import type { FoundToken, TokenLocation } from './token-location.js';
import { DEFAULT_LOCATIONS, extractToken, sameLocation } from './token-location.js';

export type AuthnResult =
  | { outcome: 'none' }
  | {
      outcome: 'ok';
      principal: string;
      claims: JWTPayload;
      audiences: string[];
      presenter?: string;
      headersToSet: Record<string, string>;
      headersToRemove: string[];
    }
  | { outcome: 'invalid'; reason: string };

export interface JwtVerifier {
  authenticate(headers: Readonly<Record<string, string>>, query: URLSearchParams | string): Promise<AuthnResult>;
}

export interface JwtVerifierOptions {
  /** Milliseconds since the epoch; tests pass fake time. */
  clock?: () => number;
  /** The JWKS already fetched for a rule that names only jwksUri. */
  resolveJwksUri?: (uri: string) => JSONWebKeySet | undefined;
}

/** Envoy's default `clock_skew_seconds`, which Istio does not override. */
const CLOCK_SKEW_SECONDS = 60;

interface CompiledJwtRule {
  readonly issuer: string | undefined;
  readonly audiences: readonly string[];
  readonly locations: readonly TokenLocation[];
  readonly keys: ReturnType<typeof createLocalJWKSet> | null;
  readonly forwardOriginalToken: boolean;
  readonly outputPayloadToHeader: string | undefined;
  readonly outputClaimToHeaders: ReadonlyArray<{ header: string; claim: string }>;
  readonly spaceDelimitedClaims: readonly string[];
}

function compileRule(rule: JwtRuleSpec, index: number, options: JwtVerifierOptions): CompiledJwtRule {
  let jwks: JSONWebKeySet | undefined;
  if (rule.jwks) {
    try {
      const doc = JSON.parse(rule.jwks) as JSONWebKeySet | { kty: string };
      jwks = 'keys' in doc ? doc : { keys: [doc as JSONWebKeySet['keys'][number]] };
    } catch (cause) {
      throw new WeftError('CONFIG_INVALID', `jwtRules[${index}].jwks is not valid JSON`, { cause, detail: { field: `jwtRules[${index}].jwks` } });
    }
  } else if (rule.jwksUri) {
    jwks = options.resolveJwksUri?.(rule.jwksUri);
  }
  const locations: TokenLocation[] = [
    ...(rule.fromHeaders ?? []).map((h): TokenLocation => ({ kind: 'header', name: h.name.toLowerCase(), prefix: h.prefix ?? '' })),
    ...(rule.fromParams ?? []).map((name): TokenLocation => ({ kind: 'param', name })),
    ...(rule.fromCookies ?? []).map((name): TokenLocation => ({ kind: 'cookie', name })),
  ];
  return {
    issuer: rule.issuer || undefined,
    audiences: rule.audiences ?? [],
    locations: locations.length > 0 ? locations : DEFAULT_LOCATIONS,
    keys: jwks ? createLocalJWKSet(jwks) : null,
    forwardOriginalToken: rule.forwardOriginalToken ?? false,
    outputPayloadToHeader: rule.outputPayloadToHeader || undefined,
    outputClaimToHeaders: rule.outputClaimToHeaders ?? [],
    spaceDelimitedClaims: [...new Set([...ALWAYS_SPACE_DELIMITED, ...(rule.spaceDelimitedClaims ?? [])])],
  };
}

function reasonOf(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'Jwt is expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
        return 'Jwt not yet valid';
      case 'iss':
        return 'Jwt issuer is not configured';
      case 'aud':
        return 'Audiences in Jwt are not allowed';
      default:
        return `Jwt claim ${err.claim} is invalid`;
    }
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) return "Jwks doesn't have key to match kid or alg from Jwt";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'Jwt verification fails';
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return 'Jwt algorithm is not supported';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return 'Jwt is not in the form of Header.Payload.Signature';
  return 'Jwt verification fails';
}

/**
 * Envoy's JWT parser (jwt_verify_lib) refuses a payload whose registered claims have the wrong JSON type before
 * any key is tried; the same here, with its reasons, so a claim read later always has the type its reader expects.
 */
function payloadTypeProblem(payload: JWTPayload): string | undefined {
  for (const name of ['iss', 'sub', 'jti'] as const) {
    if (payload[name] !== undefined && typeof payload[name] !== 'string') return `Jwt payload [${name}] field is not a string`;
  }
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    if (payload[name] !== undefined && typeof payload[name] !== 'number') return `Jwt payload [${name}] field is not an integer`;
  }
  const aud: unknown = payload.aud;
  if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
    return 'Jwt payload [aud] field is not a string or string list';
  }
  return undefined;
}

function claimAt(payload: JWTPayload, dotted: string): unknown {
  let v: unknown = payload;
  for (const name of dotted.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

export function compileJwtRules(rules: readonly JwtRuleSpec[], options: JwtVerifierOptions = {}): JwtVerifier {
  const compiled = rules.map((r, i) => compileRule(r, i, options));
  const clock = options.clock ?? Date.now;
  // Every place any rule reads, each once: a token found there is judged by the rule of its issuer.
  const locations: TokenLocation[] = [];
  for (const r of compiled) for (const l of r.locations) if (!locations.some((x) => sameLocation(x, l))) locations.push(l);

  async function verifyOne(found: FoundToken): Promise<Extract<AuthnResult, { outcome: 'ok' }> | { outcome: 'invalid'; reason: string }> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(found.token);
    } catch (err) {
      return { outcome: 'invalid', reason: reasonOf(err) };
    }
    const typeProblem = payloadTypeProblem(unverified);
    if (typeProblem !== undefined) return { outcome: 'invalid', reason: typeProblem };
    const rule = compiled.find((r) => (r.issuer === undefined || r.issuer === unverified.iss) && r.locations.some((l) => sameLocation(l, found.location)));
    if (!rule) return { outcome: 'invalid', reason: 'Jwt issuer is not configured' };
    if (!rule.keys) return { outcome: 'invalid', reason: 'Jwks is not available for the issuer' };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(found.token, rule.keys, {
        ...(rule.issuer ? { issuer: rule.issuer } : {}),
        ...(rule.audiences.length > 0 ? { audience: [...rule.audiences] } : {}),
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(clock()),
      }));
    } catch (err) {
      return { outcome: 'invalid', reason: reasonOf(err) };
    }
    const headersToSet: Record<string, string> = {};
    if (rule.outputPayloadToHeader) headersToSet[rule.outputPayloadToHeader.toLowerCase()] = found.token.split('.')[1] ?? '';
    for (const { header, claim } of rule.outputClaimToHeaders) {
      const v = claimAt(payload, claim);
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') headersToSet[header.toLowerCase()] = String(v);
    }
    const aud = payload.aud;
    return {
      outcome: 'ok',
      principal: `${payload.iss ?? ''}/${payload.sub ?? ''}`,
      // Authorization sees the payload as Envoy publishes it; headers above carry the claims as signed.
      claims: splitSpaceDelimitedClaims(payload, rule.spaceDelimitedClaims),
      audiences: typeof aud === 'string' ? [aud] : (aud ?? []),
      ...(typeof payload.azp === 'string' ? { presenter: payload.azp } : {}),
      headersToSet,
      headersToRemove: !rule.forwardOriginalToken && found.location.kind === 'header' ? [found.location.name] : [],
    };
  }

  return {
    async authenticate(headers, query) {
      const params = typeof query === 'string' ? new URLSearchParams(query.startsWith('?') ? query.slice(1) : query) : query;
      const found: FoundToken[] = [];
      for (const location of locations) {
        const token = extractToken(location, headers, params);
        if (token !== undefined) found.push({ token, location });
      }
      if (found.length === 0) return { outcome: 'none' };
      let first: Extract<AuthnResult, { outcome: 'ok' }> | null = null;
      const removed = new Set<string>();
      for (const f of found) {
        const result = await verifyOne(f);
        if (result.outcome === 'invalid') return result;
        for (const h of result.headersToRemove) removed.add(h);
        first ??= result;
      }
      return { ...first!, headersToRemove: [...removed] };
    },
  };
}
