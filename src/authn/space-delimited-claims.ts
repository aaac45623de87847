/**
 * Space-delimited JWT claims, as Envoy's jwt_authn normalises the payload it hands to authorization: each listed
 * top-level claim whose value is a string becomes the list of its space-separated values, so
 * `request.auth.claims[scope]` matches one scope of `"read write"`. Istio always lists `scope` and `permission`
 * and adds a jwtRule's `spaceDelimitedClaims`.
 */
import type { JWTPayload } from 'jose';

export const ALWAYS_SPACE_DELIMITED: readonly string[] = ['permission', 'scope'];

export function splitSpaceDelimitedClaims(payload: JWTPayload, names: readonly string[]): JWTPayload {
  let out: JWTPayload | undefined;
  for (const name of names) {
    const v = payload[name];
    if (typeof v !== 'string') continue;
    out ??= { ...payload };
    out[name] = v.split(' ').filter((s) => s !== '');
  }
  return out ?? payload;
}
