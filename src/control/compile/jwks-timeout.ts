/**
 * How long the control plane waits for a JWKS document: RequestAuthentication `jwtRules[].timeout`, Istio's "how
 * long to wait before aborting JWKS fetch", 5 s when unset. Several rules may name one `jwksUri` and there is one
 * fetch for it: it takes the longest, so that no rule's fetch is cut shorter than it asked.
 */
import { tryParseDuration } from '../../config/duration.js';
import type { MeshSnapshot } from './snapshot.js';

/** Istio's default JWKS fetch timeout. */
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;

export function jwksFetchTimeoutMs(snap: Pick<MeshSnapshot, 'requestAuthentications'>, uri: string): number {
  let longest: number | undefined;
  for (const p of snap.requestAuthentications) {
    for (const r of p.spec.jwtRules ?? []) {
      if (r.jwksUri !== uri || r.jwks !== undefined || r.timeout === undefined) continue;
      const ms = tryParseDuration(r.timeout);
      // A zero or unreadable timeout would mean "wait forever" to the HTTP client: the default holds instead.
      if (ms !== undefined && ms > 0) longest = Math.max(longest ?? 0, ms);
    }
  }
  return longest ?? DEFAULT_JWKS_TIMEOUT_MS;
}
