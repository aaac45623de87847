/**
 * The rules of Istio's RequestAuthentication validation that a schema cannot express.
 */
import type { RequestAuthenticationSpec } from '../config/kinds/request-authentication.js';
import type { SpecIssue } from '../config/kinds/authorization-policy.js';
import { checkWorkloadTarget } from '../authz/check-policy.js';

const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;
const DURATION = /^([0-9]+(\.[0-9]+)?(h|m|s|ms|us|µs|ns))+$/;

function jwksProblem(text: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `jwks parse error: ${(err as Error).message}`;
  }
  if (typeof doc !== 'object' || doc === null) return 'jwks parse error: not a JSON object';
  const keys = (doc as { keys?: unknown }).keys;
  // A single JWK (no `keys`) is accepted, as Istio's JWK parser does.
  if (keys === undefined) return typeof (doc as { kty?: unknown }).kty === 'string' ? null : 'jwks parse error: no `keys` and no `kty`';
  if (!Array.isArray(keys)) return 'jwks parse error: `keys` must be an array';
  const bad = keys.findIndex((k) => typeof k !== 'object' || k === null || typeof (k as { kty?: unknown }).kty !== 'string');
  return bad >= 0 ? `jwks parse error: key ${bad} has no \`kty\`` : null;
}

export function checkRequestAuthentication(spec: RequestAuthenticationSpec): SpecIssue[] {
  const out: SpecIssue[] = [];
  checkWorkloadTarget(spec, out);
  spec.jwtRules?.forEach((rule, i) => {
    const p = ['jwtRules', i];
    rule.audiences?.forEach((a, j) => {
      if (a === '') out.push({ path: [...p, 'audiences', j], message: 'audience must be non-empty string' });
    });
    if (!rule.issuer && !rule.jwksUri) out.push({ path: [...p, 'issuer'], message: 'issuer or jwksUri must be non-empty string' });
    if (rule.jwksUri) {
      let scheme = '';
      try {
        scheme = new URL(rule.jwksUri).protocol;
      } catch {
        scheme = 'invalid';
      }
      if (scheme !== 'http:' && scheme !== 'https:') out.push({ path: [...p, 'jwksUri'], message: `URI scheme of ${rule.jwksUri} is not supported, use http or https` });
    }
    if (rule.jwks !== undefined && rule.jwks !== '' && rule.jwksUri) {
      out.push({ path: [...p, 'jwks'], message: 'only one of jwks or jwksUri may be set' });
    }
    if (rule.jwks) {
      const problem = jwksProblem(rule.jwks);
      if (problem) out.push({ path: [...p, 'jwks'], message: problem });
    }
    rule.fromHeaders?.forEach((h, j) => {
      if (h.name === '') out.push({ path: [...p, 'fromHeaders', j, 'name'], message: 'location header name must be non-empty string' });
    });
    rule.fromParams?.forEach((q, j) => {
      if (q === '') out.push({ path: [...p, 'fromParams', j], message: 'location query must be non-empty string' });
    });
    rule.fromCookies?.forEach((c, j) => {
      if (c === '') out.push({ path: [...p, 'fromCookies', j], message: 'cookie name must be non-empty string' });
    });
    rule.outputClaimToHeaders?.forEach((o, j) => {
      const at = [...p, 'outputClaimToHeaders', j];
      if (o.claim === '' || o.header === '') out.push({ path: at, message: 'outputClaimToHeaders header and claim value must be non-empty string' });
      else if (!HEADER_TOKEN.test(o.header)) out.push({ path: [...at, 'header'], message: `invalid header name ${o.header}` });
    });
    if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== '' && !HEADER_TOKEN.test(rule.outputPayloadToHeader)) {
      out.push({ path: [...p, 'outputPayloadToHeader'], message: `invalid header name ${rule.outputPayloadToHeader}` });
    }
    if (rule.timeout !== undefined && !DURATION.test(rule.timeout)) out.push({ path: [...p, 'timeout'], message: `invalid duration ${rule.timeout}` });
  });
  return out;
}
