/**
 * How a pool's connections behave: a cluster's DestinationRule connection settings made once per config into what
 * undici's Pool takes, and the keys that keep pools with different settings or TLS policies apart.
 */
import { createHash } from 'node:crypto';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';
import type { ProxyProtocolVersion } from './proxy-protocol.js';

/** undici Pool options every pool starts from; a cluster's settings override the timeouts and limits they name. */
export const POOL_OPTIONS = {
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 300_000,
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
  connectTimeout: 5_000,
};

/**
 * What a cluster's DestinationRule says about its HTTP/1.1 connections (Envoy's cluster `connect_timeout`,
 * `common_http_protocol_options.idle_timeout`, `max_requests_per_connection` and `max_connection_duration`, and
 * `upstream_connection_options.tcp_keepalive`). `key` names the settings, so that clusters (subsets) with the same
 * settings share an endpoint's pool and two with different ones do not.
 */
export interface HttpPoolSettings {
  readonly key: string;
  readonly connectTimeoutMs: number;
  /** Idle connections close after this long, or sooner when the destination's own keep-alive (30 s) ends them. */
  readonly idleTimeoutMs: number;
  /** 0: unlimited. */
  readonly maxRequestsPerConnection: number;
  /** 0: unlimited. A connection this old takes no new request and closes once its request in flight ends. */
  readonly maxConnectionDurationMs: number;
  /** SO_KEEPALIVE with this idle time before the first probe; null: undici's default (on, 60 s). */
  readonly keepAliveDelayMs: number | null;
  /**
   * HTTP/2 upstreams: streams this proxy opens at once on one session, below what the peer's SETTINGS allow
   * (Istio's `http.maxConcurrentStreams`, Envoy's upstream `max_concurrent_streams`); past it another session opens.
   */
  readonly maxConcurrentStreams: number;
  /** HTTP/2 upstreams: a PING every this many ms, the session closed when one is not answered within `pingTimeoutMs`; 0: none. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  /**
   * DestinationRule `proxyProtocol`: every connection starts with a PROXY header naming the client's connection, so
   * its connections are kept per client connection (Envoy's pool hash key includes the header's addresses); null: none.
   */
  readonly proxyProtocol: ProxyProtocolVersion | null;
}

interface PoolPolicy {
  connectTimeoutMs: number;
  httpIdleTimeoutMs: number;
  maxRequestsPerConnection: number;
  maxConnectionDurationMs: number;
  tcpKeepalive: { timeMs: number | null } | null;
  maxConcurrentStreams: number;
  http2KeepAlive?: { intervalMs: number; timeoutMs: number } | undefined;
}

/** Istio's default for `maxConcurrentStreams` (2^31-1): the peer's SETTINGS decide. */
const UNLIMITED_STREAMS = 2_147_483_647;

export function httpPoolSettings(p: PoolPolicy, proxyProtocol: ProxyProtocolVersion | null = null): HttpPoolSettings {
  // Istio's tcpKeepalive without `time` takes the OS's idle time; Node's 0 means the same.
  const keepAliveDelayMs = p.tcpKeepalive === null ? null : (p.tcpKeepalive.timeMs ?? 0);
  return {
    key: `${p.connectTimeoutMs}|${p.httpIdleTimeoutMs}|${p.maxRequestsPerConnection}|${p.maxConnectionDurationMs}|${keepAliveDelayMs}|${p.maxConcurrentStreams}|${p.http2KeepAlive?.intervalMs}|${p.http2KeepAlive?.timeoutMs}|${proxyProtocol}`,
    connectTimeoutMs: p.connectTimeoutMs > 0 ? p.connectTimeoutMs : POOL_OPTIONS.connectTimeout,
    idleTimeoutMs: p.httpIdleTimeoutMs > 0 ? Math.min(p.httpIdleTimeoutMs, POOL_OPTIONS.keepAliveTimeout) : POOL_OPTIONS.keepAliveTimeout,
    maxRequestsPerConnection: p.maxRequestsPerConnection,
    maxConnectionDurationMs: p.maxConnectionDurationMs,
    keepAliveDelayMs,
    maxConcurrentStreams: p.maxConcurrentStreams > 0 ? p.maxConcurrentStreams : UNLIMITED_STREAMS,
    pingIntervalMs: p.http2KeepAlive?.intervalMs ?? 0,
    pingTimeoutMs: p.http2KeepAlive?.timeoutMs ?? 0,
    proxyProtocol,
  };
}

/** undici's Pool options for a cluster's settings (mesh endpoints and hosts outside the mesh alike). */
export function poolLimits(settings: HttpPoolSettings): { keepAliveTimeout: number; keepAliveMaxTimeout: number; maxRequestsPerClient?: number; clientTtl?: number } {
  return {
    // undici prefers the server's Keep-Alive hint to keepAliveTimeout; the cap makes the rule's idle timeout hold.
    keepAliveTimeout: settings.idleTimeoutMs,
    keepAliveMaxTimeout: settings.idleTimeoutMs,
    // undici sends `connection: close` on the request after its count reaches maxRequestsPerClient, so N-1 gives
    // Envoy's N requests a connection; 1 is a per-request reset (connect-upstream.ts).
    ...(settings.maxRequestsPerConnection > 1 && { maxRequestsPerClient: settings.maxRequestsPerConnection - 1 }),
    // undici's clientTtl is Envoy's upstream max_connection_duration: past it a connection is taken out of the
    // pool when next picked and closed once its request in flight ends (undici reads the wall clock for it).
    ...(settings.maxConnectionDurationMs > 0 && { clientTtl: settings.maxConnectionDurationMs }),
  };
}

/** Pools not made for a cluster (the app behind an inbound listener, egress without a DestinationRule). */
export const FIXED_POOL_SETTINGS: HttpPoolSettings = {
  key: '',
  connectTimeoutMs: POOL_OPTIONS.connectTimeout,
  idleTimeoutMs: POOL_OPTIONS.keepAliveTimeout,
  maxRequestsPerConnection: 0,
  maxConnectionDurationMs: 0,
  keepAliveDelayMs: null,
  maxConcurrentStreams: UNLIMITED_STREAMS,
  pingIntervalMs: 0,
  pingTimeoutMs: 0,
  proxyProtocol: null,
};

/**
 * A policy's pool key, made once per policy object (one per config push): the policy may carry a Secret's PEM, too
 * long to serialize per request. Equal policies from two pushes give equal keys, so an unchanged rule keeps its pool;
 * a rotated Secret changes the key, and the next connection is made with the new credential.
 */
const policyKeys = new WeakMap<ClientTlsPolicy, string>();

export function policyKey(policy: ClientTlsPolicy): string {
  let key = policyKeys.get(policy);
  if (key === undefined) {
    key = createHash('sha256').update(JSON.stringify(policy)).digest('base64url');
    policyKeys.set(policy, key);
  }
  return key;
}
