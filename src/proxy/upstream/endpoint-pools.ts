/**
 * Keep-alive connection pools to upstream endpoints (undici Pools, one per endpoint and TLS identity). mTLS
 * connections are made by our own connector so that every handshake uses the certificate current at that moment
 * (rotation needs no pool rebuild) and verifies the peer's SPIFFE ID, not a DNS name.
 */
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { Pool } from 'undici';
import type { buildConnector } from 'undici';
import { WeftError } from '../../errors.js';
import type { ClientTlsPolicy, Endpoint } from '../../proxyconfig/types.js';

type ClientTlsMode = ClientTlsPolicy['mode'];

import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { connectMtls } from './mtls-connect.js';
import { connectOriginating } from './tls-origination.js';
import type { OriginationTarget } from './tls-origination.js';
import { ExternalBreakers } from './external-breakers.js';
import { connectPlain } from './plain-connect.js';
import { ownAddressesHeader } from './proxy-protocol.js';
import type { Preface, ProxiedConnection, ProxyProtocolVersion } from './proxy-protocol.js';

export interface UpstreamTarget {
  address: string;
  port: number;
  /** Undefined for plaintext. */
  tls?: { sni: string; spiffeId: string };
}

/**
 * Where requests to an endpoint go: mTLS to its sidecar's inbound port, or plaintext there when the destination's
 * mode is DISABLE (auto mTLS) or the DestinationRule says `tls.mode: DISABLE` (the destination must then accept
 * plaintext: PERMISSIVE, or DISABLE; a STRICT one refuses the connection, as in Istio). A rule's ISTIO_MUTUAL asks
 * for mTLS whatever auto mTLS would choose, as in Istio: the way to reach a pod without a sidecar (an egress
 * gateway's ISTIO_MUTUAL server) with the mesh identities.
 */
export function targetOf(ep: Endpoint, sni: string, ruleMode?: ClientTlsMode | null): UpstreamTarget {
  return endpointMtls(ep, ruleMode)
    ? { address: ep.address, port: ep.inboundPort, tls: { sni, spiffeId: ep.spiffeId } }
    : { address: ep.address, port: ep.inboundPort };
}

/** Whether a connection to the endpoint is mTLS: the cluster's DestinationRule mode first, else auto mTLS. */
export function endpointMtls(ep: Endpoint, ruleMode: ClientTlsMode | null | undefined): boolean {
  if (ruleMode === 'DISABLE') return false;
  if (ruleMode === 'ISTIO_MUTUAL') return true;
  return ep.mtls;
}

function keyOf(t: UpstreamTarget): string {
  return t.tls ? `${t.address}:${t.port}|${t.tls.sni}|${t.tls.spiffeId}` : `${t.address}:${t.port}`;
}

const POOL_OPTIONS = {
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
function poolLimits(settings: HttpPoolSettings): { keepAliveTimeout: number; keepAliveMaxTimeout: number; maxRequestsPerClient?: number; clientTtl?: number } {
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

export class EndpointPools {
  /** Target → cluster settings → pool. */
  #pools = new Map<string, Map<string, Pool>>();
  /** The same, per client connection, for clusters whose connections carry a PROXY header naming it. */
  #byClient = new Map<EventEmitter, Map<string, Map<string, Pool>>>();
  /** The breakers of clusters outside the mesh, kept beside their pools across pushes as the pools are. */
  readonly externalBreakers = new ExternalBreakers();

  constructor(private readonly cert: WorkloadCertificate | undefined) {}

  /**
   * The pool for a request to `target`. `client`: the connection the request came on, read only when the cluster's
   * rule says `proxyProtocol` (the header names it, so its connections are its own and close with it); without
   * one, the header names the upstream connection's own ends, as Envoy's does for a call with no client behind it.
   */
  get(target: UpstreamTarget, settings: HttpPoolSettings = FIXED_POOL_SETTINGS, client?: ProxiedConnection): Pool {
    const preface = prefaceFor(settings, client);
    return this.#pool(keyOf(target), settings, client, () =>
      new Pool(`http://${net.isIPv6(target.address) ? `[${target.address}]` : target.address}:${target.port}`, {
        ...POOL_OPTIONS,
        ...poolLimits(settings),
        connect: target.tls
          ? this.#mtlsConnector(target, target.tls, settings, preface)
          : preface === undefined
            ? { timeout: settings.connectTimeoutMs, ...(settings.keepAliveDelayMs !== null && { keepAlive: true, keepAliveInitialDelay: settings.keepAliveDelayMs }) }
            : plainConnector(target, settings, preface),
      }),
    );
  }

  /**
   * A pool whose connections the sidecar opens with TLS it originates (DestinationRule SIMPLE/MUTUAL): one per
   * destination, host and policy, so two rules never share a connection.
   */
  originating(target: OriginationTarget, policy: ClientTlsPolicy, settings: HttpPoolSettings = FIXED_POOL_SETTINGS, client?: ProxiedConnection): Pool {
    const preface = prefaceFor(settings, client);
    return this.#pool(`${target.address}:${target.port}|originate|${target.host}|${policyKey(policy)}`, settings, client, () =>
      new Pool(`http://${net.isIPv6(target.address) ? `[${target.address}]` : target.address}:${target.port}`, {
        ...POOL_OPTIONS,
        ...poolLimits(settings),
        connect: (_opts, callback) =>
          connectOriginating(
            policy,
            target,
            settings.connectTimeoutMs,
            (err, socket) => {
              if (err || !socket) {
                callback(err ?? new WeftError('TLS_ORIGINATION_FAILED', 'no socket'), null);
                return;
              }
              if (settings.keepAliveDelayMs !== null) socket.setKeepAlive(true, settings.keepAliveDelayMs);
              callback(null, socket);
            },
            ['http/1.1'],
            preface,
          ),
      }),
    );
  }

  #pool(key: string, settings: HttpPoolSettings, client: ProxiedConnection | undefined, create: () => Pool): Pool {
    const pools = settings.proxyProtocol !== null && client !== undefined ? this.#clientPools(client) : this.#pools;
    let byTarget = pools.get(key);
    if (byTarget === undefined) {
      byTarget = new Map();
      pools.set(key, byTarget);
    }
    let pool = byTarget.get(settings.key);
    if (!pool) {
      pool = create();
      byTarget.set(settings.key, pool);
    }
    return pool;
  }

  /** A client connection's own pools, closed (requests in flight finish first) when it closes. */
  #clientPools(client: ProxiedConnection): Map<string, Map<string, Pool>> {
    let pools = this.#byClient.get(client.connection);
    if (pools === undefined) {
      const created = new Map<string, Map<string, Pool>>();
      // A request sent after its client left (a retry): its pool is kept nowhere and closes when idle.
      if (client.closed()) return created;
      this.#byClient.set(client.connection, created);
      client.connection.once('close', () => {
        this.#byClient.delete(client.connection);
        for (const byTarget of created.values()) for (const pool of byTarget.values()) void pool.close().catch(() => undefined);
      });
      pools = created;
    }
    return pools;
  }

  /** Close pools whose endpoints left the config; requests in flight on them finish first. */
  retain(targets: Iterable<UpstreamTarget>): void {
    const live = new Set<string>();
    for (const t of targets) live.add(keyOf(t));
    for (const [key, byTarget] of this.#pools) {
      if (!live.has(key)) {
        this.#pools.delete(key);
        for (const pool of byTarget.values()) void pool.close().catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values(), ...[...this.#byClient.values()].flatMap((m) => [...m.values()])].flatMap((byTarget) => [...byTarget.values()]);
    this.#pools.clear();
    this.#byClient.clear();
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
  }

  #mtlsConnector(target: UpstreamTarget, peer: { sni: string; spiffeId: string }, settings: HttpPoolSettings, preface: Preface | undefined): buildConnector.connector {
    const cert = this.cert;
    return (_opts, callback) => {
      if (!cert) {
        callback(new WeftError('UPSTREAM_UNREACHABLE', 'no workload certificate'), null);
        return;
      }
      connectMtls(
        cert,
        { address: target.address, port: target.port, ...peer },
        settings.connectTimeoutMs,
        (err, socket) => {
          if (err || !socket) {
            callback(err ?? new WeftError('UPSTREAM_UNREACHABLE', 'no socket'), null);
            return;
          }
          // Node has no TCP_KEEPCNT/TCP_KEEPINTVL; the idle time is what it can set (docs/traffic.md).
          if (settings.keepAliveDelayMs !== null) socket.setKeepAlive(true, settings.keepAliveDelayMs);
          callback(null, socket);
        },
        undefined,
        preface,
      );
    };
  }
}

/** The PROXY header a cluster's connections start with: the client connection's, else the connection's own ends. */
export function prefaceFor(settings: HttpPoolSettings, client: ProxiedConnection | undefined): Preface | undefined {
  if (settings.proxyProtocol === null) return undefined;
  return client === undefined ? ownAddressesHeader(settings.proxyProtocol) : client.header(settings.proxyProtocol);
}

/** Plaintext connections that start with a PROXY header, with the pool's connect timeout and keepalive. */
function plainConnector(target: UpstreamTarget, settings: HttpPoolSettings, preface: Preface): buildConnector.connector {
  return (_opts, callback) =>
    connectPlain(
      target,
      (err, socket) => {
        if (err !== undefined || socket === undefined) {
          callback(err ?? new WeftError('UPSTREAM_UNREACHABLE', 'no socket'), null);
          return;
        }
        if (settings.keepAliveDelayMs !== null) socket.setKeepAlive(true, settings.keepAliveDelayMs);
        callback(null, socket);
      },
      settings.connectTimeoutMs,
      preface,
    );
}
