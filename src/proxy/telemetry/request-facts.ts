/**
 * What the access log records of a request's own headers: its id, user agent, declared body size and whether it is
 * gRPC. Only the access log carries the client's words, and bounded; metrics take `protocol` alone (a fixed set).
 */
import type { IncomingHttpHeaders } from 'node:http';

/** The longest request id or user agent kept in a log line. */
const MAX_LOGGED_CHARS = 256;

export interface RequestFacts {
  requestId?: string;
  userAgent?: string;
  requestBytes?: number;
  protocol?: 'grpc';
  forwardedFor?: string;
  httpVersion?: 'HTTP/2';
  /** Kept by reference for access-log filters (read off the request path); never logged whole. */
  requestHeaders: IncomingHttpHeaders;
}

function bounded(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : s.length > MAX_LOGGED_CHARS ? s.slice(0, MAX_LOGGED_CHARS) : s;
}

export function requestFacts(headers: IncomingHttpHeaders, requestId?: string): RequestFacts {
  const facts: RequestFacts = { requestHeaders: headers };
  const id = requestId ?? bounded(headers['x-request-id']);
  if (id !== undefined) facts.requestId = id;
  const ua = bounded(headers['user-agent']);
  if (ua !== undefined) facts.userAgent = ua;
  const len = Number(headers['content-length']);
  // A declared length: a chunked body's size is not counted (docs/telemetry.md).
  if (Number.isSafeInteger(len) && len >= 0) facts.requestBytes = len;
  if (headers['content-type']?.startsWith('application/grpc') === true) facts.protocol = 'grpc';
  const xff = bounded(headers['x-forwarded-for']);
  if (xff !== undefined) facts.forwardedFor = xff;
  // Only HTTP/2 header blocks carry pseudo-headers.
  if (headers[':method'] !== undefined) facts.httpVersion = 'HTTP/2';
  return facts;
}
