/**
 * Keep-alive connection pools to upstream endpoints (undici Pools, one per endpoint and TLS identity). mTLS
 * connections are made by our own connector so that every handshake uses the certificate current at that moment
 * (rotation needs no pool rebuild) and verifies the peer's SPIFFE ID, not a DNS name. A push hands over only the
 * endpoints its clusters gained and lost (retain): the pools of endpoints still listed stay, whatever else changed.
 */
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { Pool } from 'undici';
import type { buildConnector } from 'undici';
import { WeftError } from '../../errors.js';
import type { WeftErrorCode } from '../../errors.js';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import { connectMtls } from './mtls-connect.js';
import { connectOriginating } from './tls-origination.js';
import type { OriginationTarget } from './tls-origination.js';
import { ExternalBreakers } from './external-breakers.js';
import { ListedTargets } from './listed-targets.js';
import { connectPlain } from './plain-connect.js';
import { ownAddressesHeader } from './proxy-protocol.js';
import type { Preface, ProxiedConnection } from './proxy-protocol.js';
import { FIXED_POOL_SETTINGS, POOL_OPTIONS, policyKey, poolLimits } from './pool-settings.js';
import type { HttpPoolSettings } from './pool-settings.js';
import { targetKey } from './upstream-target.js';
import type { UpstreamTarget } from './upstream-target.js';

export class EndpointPools {
  /** Target → cluster settings → pool. */
  #pools = new Map<string, Map<string, Pool>>();
  /** The same, per client connection, for clusters whose connections carry a PROXY header naming it. */
  #byClient = new Map<EventEmitter, Map<string, Map<string, Pool>>>();
  /** The breakers of clusters outside the mesh, kept beside their pools across pushes as the pools are. */
  readonly externalBreakers = new ExternalBreakers();
  readonly #listed = new ListedTargets();

  constructor(private readonly cert: WorkloadCertificate | undefined) {}

  /**
   * The pool for a request to `target`. `client`: the connection the request came on, read only when the cluster's
   * rule says `proxyProtocol` (the header names it, so its connections are its own and close with it); without
   * one, the header names the upstream connection's own ends, as Envoy's does for a call with no client behind it.
   */
  get(target: UpstreamTarget, settings: HttpPoolSettings = FIXED_POOL_SETTINGS, client?: ProxiedConnection): Pool {
    const preface = prefaceFor(settings, client);
    return this.#pool(targetKey(target), settings, client, () =>
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
            connected(callback, settings, 'TLS_ORIGINATION_FAILED'),
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
      if (pools === this.#pools) this.#listed.made(key);
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

  /** A push: the pools of endpoints it no longer lists close; requests in flight on them finish first (listed-targets.ts). */
  retain(joined: Iterable<UpstreamTarget>, left: Iterable<UpstreamTarget>): void {
    for (const key of this.#listed.retain(joined, left)) this.#closeTarget(key);
  }

  #closeTarget(key: string): void {
    const byTarget = this.#pools.get(key);
    if (byTarget === undefined) return;
    this.#pools.delete(key);
    for (const pool of byTarget.values()) void pool.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values(), ...[...this.#byClient.values()].flatMap((m) => [...m.values()])].flatMap((byTarget) => [...byTarget.values()]);
    this.#pools.clear();
    this.#byClient.clear();
    this.#listed.forgetUnlisted();
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
        connected(callback, settings, 'UPSTREAM_UNREACHABLE'),
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

/**
 * undici's connect callback from a dialler's: the socket with the pool's keepalive (Node has no TCP_KEEPCNT or
 * TCP_KEEPINTVL; the idle time is what it can set, docs/traffic.md), or the dialler's error.
 */
function connected(callback: Parameters<buildConnector.connector>[1], settings: HttpPoolSettings, code: WeftErrorCode): (err: Error | null | undefined, socket?: net.Socket | null) => void {
  return (err, socket) => {
    if (err || !socket) {
      callback(err ?? new WeftError(code, 'no socket'), null);
      return;
    }
    if (settings.keepAliveDelayMs !== null) socket.setKeepAlive(true, settings.keepAliveDelayMs);
    callback(null, socket);
  };
}

/** Plaintext connections that start with a PROXY header, with the pool's connect timeout and keepalive. */
function plainConnector(target: UpstreamTarget, settings: HttpPoolSettings, preface: Preface): buildConnector.connector {
  return (_opts, callback) =>
    connectPlain(
      target,
      connected(callback, settings, 'UPSTREAM_UNREACHABLE'),
      settings.connectTimeoutMs,
      preface,
    );
}
