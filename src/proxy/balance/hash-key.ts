/**
 * The request's key for consistent hashing, by the policy's hash key: a header's value, a cookie's, the source IP,
 * or a query parameter's. No key (the header or parameter absent) leaves the balancer to pick a random point, as
 * Envoy does. A cookie policy with a TTL generates the cookie when the request has none: its value is derived from
 * the client's connection, so racing requests of one connection agree, and the request is hashed by it.
 */
import type { HashKeyPolicy } from '../../proxyconfig/types.js';
import { hash32 } from './hash.js';

/** What key extraction reads of a request; the caller adapts its own request type. */
export interface HashRequest {
  /** A header's value by lower-case name (several values joined by ", "), or undefined. */
  header(name: string): string | undefined;
  sourceAddress: string;
  /** The connection's local address, for generated cookies. */
  localAddress: string;
  /** The raw query string without "?" ("" when none). */
  query: string;
}

export interface HashKey {
  key: number | undefined;
  /** Set when a cookie must be generated: the Set-Cookie value to add to the response. */
  setCookie: string | undefined;
}

const NONE: HashKey = { key: undefined, setCookie: undefined };

export function hashKeyOf(policy: HashKeyPolicy, req: HashRequest): HashKey {
  if ('header' in policy) return keyed(req.header(policy.header));
  if ('sourceIp' in policy) return keyed(req.sourceAddress);
  if ('queryParameter' in policy) return keyed(queryValue(req.query, policy.queryParameter));
  const { name, path, ttlMs } = policy.cookie;
  const present = cookieValue(req.header('cookie'), name);
  if (present !== undefined || ttlMs === null) return keyed(present);
  const value = hash32(req.sourceAddress + req.localAddress).toString(16).padStart(8, '0');
  const attrs = [`${name}=${value}`, ...(path === null ? [] : [`Path=${path}`]), ...(ttlMs > 0 ? [`Max-Age=${Math.floor(ttlMs / 1000)}`] : []), 'HttpOnly'];
  return { key: hash32(value), setCookie: attrs.join('; ') };
}

function keyed(value: string | undefined): HashKey {
  return value === undefined ? NONE : { key: hash32(value), setCookie: undefined };
}

/** A cookie's value from a Cookie header, without splitting it into an array. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let at = 0;
  while (at < header.length) {
    while (header.charCodeAt(at) === 32 || header.charCodeAt(at) === 59) at++;
    const end = header.indexOf(';', at);
    const stop = end < 0 ? header.length : end;
    const eq = header.indexOf('=', at);
    if (eq > 0 && eq < stop && header.slice(at, eq).trim() === name) return header.slice(eq + 1, stop).trim();
    at = stop + 1;
  }
  return undefined;
}

/** A query parameter's first value, percent-decoded ("+" is a space); undefined when absent. */
export function queryValue(query: string, name: string): string | undefined {
  let at = 0;
  while (at <= query.length) {
    const end = query.indexOf('&', at);
    const stop = end < 0 ? query.length : end;
    const eq = query.indexOf('=', at);
    const keyEnd = eq >= 0 && eq < stop ? eq : stop;
    if (decode(query.slice(at, keyEnd)) === name) return keyEnd === stop ? '' : decode(query.slice(keyEnd + 1, stop));
    if (end < 0) break;
    at = stop + 1;
  }
  return undefined;
}

function decode(s: string): string {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  try {
    return s.includes('%') ? decodeURIComponent(plus) : plus;
  } catch {
    return plus;
  }
}
