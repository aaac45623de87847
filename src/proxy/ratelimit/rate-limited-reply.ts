/**
 * What a caller over a local rate limit gets, as Envoy's local rate limit filter answers (Istio's rate limiting runs
 * on it): 429, `x-envoy-ratelimited: true` and the body `local_rate_limited`. On HTTP/2 a gRPC caller gets the same
 * as a trailers-only gRPC reply (h2-local-reply.ts): `grpc-status` 14 UNAVAILABLE, Envoy's mapping of 429.
 */
import type { LocalReply } from '../http/proxy-error.js';

export const RATE_LIMITED_BODY = 'local_rate_limited';

export function sendRateLimited(res: LocalReply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(429, {
    'content-type': 'text/plain',
    'content-length': Buffer.byteLength(RATE_LIMITED_BODY),
    'x-envoy-ratelimited': 'true',
    server: 'weft',
  });
  res.end(RATE_LIMITED_BODY);
}
