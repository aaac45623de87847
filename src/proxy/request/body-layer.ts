/**
 * Keep the request body for a second sending: a request with a body that may be retried (its route's retry policy,
 * Istio's default included) or mirrored gets a RetryBuffer (retry-buffer.ts) before the mirror and retry layers
 * read it. Bodiless requests and routes with neither pass untouched.
 */
import type { Layer } from './exchange.js';
import { RetryBuffer } from './retry-buffer.js';
import { retryPolicyOf } from './retry-layer.js';

export function keepBody(limitBytes: number): Layer {
  return (next) => (ex, handler) => {
    if (ex.body !== null && (ex.route?.rule.route.mirrors !== undefined || retryPolicyOf(ex).attempts > 0)) ex.retryBuffer = new RetryBuffer(ex.body, limitBytes);
    next(ex, handler);
  };
}
