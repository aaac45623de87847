/**
 * What the access log records of a request's own headers: its id, user agent and forwarding chain (bounded), whether
 * it is gRPC and HTTP/2. Only the access log carries the client's words; metrics take `protocol` alone (a fixed set).
 * Written into the entry being built rather than returned: a record per request, then a copy of it into the entry,
 * was measurable at saturation.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AccessLogEntry } from './access-log.js';

/** The longest request id or user agent kept in a log line. */
const MAX_LOGGED_CHARS = 256;

export type RequestFacts = Pick<AccessLogEntry, 'requestId' | 'userAgent' | 'protocol' | 'forwardedFor' | 'httpVersion' | 'requestHeaders'>;

function bounded(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.length > MAX_LOGGED_CHARS ? s.slice(0, MAX_LOGGED_CHARS) : s;
}

/** The x-request-id among the headers the proxy adds upstream (flat name, value pairs): one it generated. */
function generatedRequestId(added: readonly string[]): string | undefined {
  for (let i = 0; i < added.length; i += 2) if (added[i] === 'x-request-id') return added[i + 1];
  return undefined;
}

/** `added`: the headers the proxy sends upstream besides the client's, where an id it generated is found. */
export function addRequestFacts(entry: RequestFacts, headers: IncomingHttpHeaders, added: readonly string[] = []): void {
  // Kept by reference for access-log filters (read off the request path); never logged whole.
  entry.requestHeaders = headers;
  const id = bounded(headers['x-request-id']) ?? generatedRequestId(added);
  if (id !== undefined) entry.requestId = id;
  const ua = bounded(headers['user-agent']);
  if (ua !== undefined) entry.userAgent = ua;
  if (headers['content-type']?.startsWith('application/grpc') === true) entry.protocol = 'grpc';
  const xff = bounded(headers['x-forwarded-for']);
  if (xff !== undefined) entry.forwardedFor = xff;
  // Only HTTP/2 header blocks carry pseudo-headers.
  if (headers[':method'] !== undefined) entry.httpVersion = 'HTTP/2';
}
