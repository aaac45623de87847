/**
 * How one bookinfo service calls another: by plain service name, through the sidecar when `http_proxy` is set,
 * carrying along the request's trace and user headers so the mesh can join spans and route by user.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { EnvHttpProxyAgent, request } from 'undici';

/**
 * Headers an app must copy from its inbound request to its outbound calls (Istio's trace context
 * propagation list). The mesh cannot do this for the app: only the app knows which inbound request caused
 * which outbound call.
 */
export const PROPAGATED_HEADERS: readonly string[] = [
  'end-user',
  'x-request-id',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'x-ot-span-context',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
  'user-agent',
  'cookie',
];

/** Datadog uses a family of headers (trace id, parent id, sampling priority, origin, tags). */
const PROPAGATED_PREFIX = 'x-datadog-';

/** The subset of `incoming` that travels on to the next hop. Pure. */
export function propagatedHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (PROPAGATED_HEADERS.includes(name) || name.startsWith(PROPAGATED_PREFIX)) {
      out[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return out;
}

/**
 * One dispatcher per process. Plain-HTTP calls go to the sidecar in absolute form (`GET http://reviews:9080/...`)
 * rather than through a CONNECT tunnel, so the sidecar sees every request's method, path and headers and
 * can route, retry and authorize per request.
 */
const dispatcher = new EnvHttpProxyAgent({ proxyTunnel: false });

export interface ServiceReply {
  status: number;
  body: unknown;
}

/**
 * GET a JSON resource from another service. Network failures and timeouts reject; any HTTP status resolves,
 * so callers decide what counts as unavailable.
 */
export async function getJson(url: string, headers: Record<string, string>, timeoutMs: number): Promise<ServiceReply> {
  const res = await request(url, {
    method: 'GET',
    headers: { ...headers, accept: 'application/json' },
    dispatcher,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.body.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.statusCode, body };
}

/** A base URL from the environment (tests point these at local ports), without a trailing slash. */
export function serviceBaseUrl(value: string | undefined, fallback: string): string {
  return (value || fallback).replace(/\/+$/, '');
}
