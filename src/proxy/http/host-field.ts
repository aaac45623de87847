/**
 * The one authority an HTTP/1.1 request names. RFC 9112 §3.2: a request with more than one Host field is a 400;
 * node's parser keeps the first and drops the rest, so they are counted on the raw headers. RFC 9112 §3.2.2: for an
 * absolute-form target the target's authority replaces the Host, as Envoy's codec does (docs/decisions.md), so that
 * routing, policy and the app all read the same one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendProxyError } from './proxy-error.js';

/** Undefined when the request has at most one Host field; else the reason for a 400. */
export function hostFieldProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'more than one Host header';
  }
  return undefined;
}

/**
 * An absolute-form request's Host becomes the target's authority; what it said is gone (the raw headers are never
 * forwarded as Host: upstreamHeaders writes the authority).
 */
export function replaceHostWithTarget(req: IncomingMessage, targetAuthority: string): void {
  if (!(req.url ?? '').startsWith('/')) req.headers.host = targetAuthority;
}

/** A 400 that also closes the connection: after a malformed request nothing else read from it can be trusted. */
export function refuseMalformed(res: ServerResponse, reason: string): void {
  res.shouldKeepAlive = false;
  sendProxyError(res, 400, `bad request: ${reason}`);
}
