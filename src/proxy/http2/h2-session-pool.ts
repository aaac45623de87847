/**
 * Upstream HTTP/2: a small pool of multiplexed sessions per endpoint (mTLS to the destination's sidecar, or h2c to
 * a plaintext endpoint). A stream goes on the first session with room under the peer's SETTINGS_MAX_CONCURRENT_STREAMS
 * (100 until the peer's SETTINGS arrive, RFC 9113 §5.1.2's floor); when every session is full another is opened, up
 * to SESSIONS_PER_ENDPOINT, then streams wait their turn in order. A session that receives GOAWAY takes no new
 * streams, lets its streams finish, and closes. The cluster's DestinationRule settings apply per session as Envoy
 * applies them to an HTTP/2 upstream connection: connect timeout, idle timeout, `maxRequestsPerConnection` (streams
 * a session carries before it drains), `maxConnectionDuration` (a session that old drains), `tcpKeepalive`,
 * `maxConcurrentStreams` and `http2KeepAlive` (PINGs; an unanswered one closes the session).
 * Hand-written over node:http2 rather than undici: undici's HTTP/2 client does not pass RST_STREAM codes or request
 * trailers and treats GOAWAY as an error of the streams in flight.
 */
import http2 from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import { connectMtls } from '../upstream/mtls-connect.js';
import { connectPlain } from '../upstream/plain-connect.js';
import { connectOriginating } from '../upstream/tls-origination.js';
import type { EventEmitter } from 'node:events';
import { prefaceFor } from '../upstream/endpoint-pools.js';
import type { Preface, ProxiedConnection } from '../upstream/proxy-protocol.js';
import { FIXED_POOL_SETTINGS, policyKey } from '../upstream/pool-settings.js';
import type { HttpPoolSettings } from '../upstream/pool-settings.js';
import { ListedTargets } from '../upstream/listed-targets.js';
import { targetKey } from '../upstream/upstream-target.js';
import type { UpstreamTarget } from '../upstream/upstream-target.js';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';
import type { ClientTlsPolicy } from '../../proxyconfig/types.js';
import { WeftError } from '../../errors.js';

/** TLS this proxy originates to a host outside the mesh (DestinationRule SIMPLE/MUTUAL), offering only `h2`. */
export interface H2Origination {
  policy: ClientTlsPolicy;
  /** The host the request was for: the server name when the rule sets no `sni`. */
  host: string;
}

export const SESSIONS_PER_ENDPOINT = 4;
/**
 * Streams a new session carries before the peer's SETTINGS arrive. HTTP/2 leaves the peer's limit unbounded until
 * then, but a peer that allows fewer refuses what was sent past it (REFUSED_STREAM): one stream goes at once, and the
 * rest wait the round trip for the peer's limit or go to another session.
 */
const STREAMS_BEFORE_SETTINGS = 1;
/** A peer advertising more is still not sent more than this on one session. */
const MAX_STREAMS_PER_SESSION = 1000;
/** What this proxy accepts from an upstream peer (responses, server pushes refused). */
const CLIENT_OPTIONS: http2.SessionOptions = {
  settings: { enablePush: false, maxHeaderListSize: 64 * 1024 },
  maxHeaderListPairs: 200,
  maxSessionMemory: 32,
};

/** A stream's wait for a session: granted one with room, or told none could be had. */
export interface SessionWaiter {
  granted(s: PooledSession): void;
  failed(err: Error): void;
  /** The request went away while it waited. */
  readonly cancelled: boolean;
}

export class PooledSession {
  session: ClientHttp2Session | undefined;
  active = 0;
  draining = false;
  /** Streams this session has carried (`maxRequestsPerConnection`). */
  private carried = 0;
  private limit = STREAMS_BEFORE_SETTINGS;

  constructor(readonly pool: H2EndpointPool) {
    this.settings(undefined);
  }

  get ready(): boolean {
    return this.session !== undefined && !this.draining && this.active < this.limit;
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS arrived (undefined: none yet), under the rule's own limit. */
  settings(maxConcurrentStreams: number | undefined): void {
    this.limit = Math.min(maxConcurrentStreams ?? STREAMS_BEFORE_SETTINGS, this.pool.settings.maxConcurrentStreams, MAX_STREAMS_PER_SESSION);
  }

  /** A stream starts on this session: an idle session does not keep the process alive, a busy one does. */
  take(): void {
    if (this.active++ === 0) this.session?.ref();
    // Envoy's max_requests_per_connection on HTTP/2: the session takes no stream past the count and drains.
    const max = this.pool.settings.maxRequestsPerConnection;
    if (max > 0 && ++this.carried >= max) this.drain();
  }

  /** No new stream; the session closes once its streams end. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.pool.forget(this);
    if (this.active <= 0) this.session?.close();
  }

  /** One stream on this session ended. */
  release(): void {
    if (--this.active === 0) this.session?.unref();
    if (this.draining && this.active <= 0) this.session?.close();
    else this.pool.grant();
  }
}

export class H2EndpointPool {
  private readonly sessions: PooledSession[] = [];
  private connecting = 0;
  private readonly waiters: SessionWaiter[] = [];

  constructor(
    private readonly target: UpstreamTarget,
    private readonly cert: WorkloadCertificate | undefined,
    readonly settings: HttpPoolSettings = FIXED_POOL_SETTINGS,
    private readonly clock: Clock = systemClock,
    private readonly origination?: H2Origination,
    /** The PROXY header each session's connection starts with (DestinationRule `proxyProtocol`); undefined: none. */
    private readonly preface?: Preface,
  ) {}

  /** No new stream on any session; each closes once its streams end (the endpoint left, or its client connection closed). */
  close(): void {
    for (const s of [...this.sessions]) s.drain();
  }

  acquire(w: SessionWaiter): void {
    for (const s of this.sessions) {
      if (s.ready) {
        s.take();
        w.granted(s);
        return;
      }
    }
    this.waiters.push(w);
    if (this.connecting === 0 && this.sessions.length < SESSIONS_PER_ENDPOINT) this.open();
  }

  /** Room opened on some session (a stream ended, SETTINGS arrived, a session connected): hand it out in order. */
  grant(): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      if (w.cancelled) {
        this.waiters.shift();
        continue;
      }
      const s = this.sessions.find((x) => x.ready);
      if (s === undefined) break;
      this.waiters.shift();
      s.take();
      w.granted(s);
    }
    if (this.waiters.length > 0 && this.connecting === 0 && this.sessions.length < SESSIONS_PER_ENDPOINT) this.open();
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  private open(): void {
    this.connecting++;
    const t = this.target;
    const ps = new PooledSession(this);
    this.sessions.push(ps);
    const connected = (err: Error | null | undefined, socket: Duplex | null | undefined): void => {
      this.connecting--;
      if (err || !socket) {
        this.drop(ps);
        // No session could be had: the streams waiting for one fail, unless another session can still take them.
        if (!this.sessions.some((s) => s.session !== undefined && !s.draining)) {
          const failed = this.waiters.splice(0);
          for (const w of failed) if (!w.cancelled) w.failed(err ?? new Error('upstream connect error'));
        }
        return;
      }
      this.attach(ps, socket);
    };
    const o = this.origination;
    if (o !== undefined) {
      connectOriginating(
        o.policy,
        { address: t.address, port: t.port, host: o.host },
        this.settings.connectTimeoutMs,
        (err, socket) => {
          // A server that did not choose h2 cannot take this port's HTTP/2: refused rather than misread.
          if (socket !== null && (socket as { alpnProtocol?: string | false }).alpnProtocol !== 'h2') {
            socket.destroy();
            connected(new WeftError('TLS_ORIGINATION_FAILED', `TLS origination to ${o.policy.sni ?? o.host} failed: the server did not choose h2 by ALPN`), null);
          } else connected(err, socket);
        },
        ['h2'],
        this.preface,
      );
    } else if (t.tls) connectMtls(this.cert!, { address: t.address, port: t.port, sni: t.tls.sni, spiffeId: t.tls.spiffeId }, this.settings.connectTimeoutMs, connected, [], this.preface);
    else connectPlain({ address: t.address, port: t.port }, (err, socket) => connected(err, socket), this.settings.connectTimeoutMs, this.preface);
  }

  private attach(ps: PooledSession, socket: Duplex): void {
    const { keepAliveDelayMs, maxConnectionDurationMs, idleTimeoutMs } = this.settings;
    // Node has no TCP_KEEPCNT/TCP_KEEPINTVL; the idle time is what it can set (docs/traffic.md).
    if (keepAliveDelayMs !== null && 'setKeepAlive' in socket) (socket as { setKeepAlive(on: boolean, ms: number): void }).setKeepAlive(true, keepAliveDelayMs);
    if (maxConnectionDurationMs > 0) this.clock.setTimeout(() => ps.drain(), maxConnectionDurationMs);
    const session = http2.connect(`http://${this.target.address}:${this.target.port}`, { ...CLIENT_OPTIONS, createConnection: () => socket });
    ps.session = session;
    session.unref();
    session.on('remoteSettings', (s: http2.Settings) => {
      ps.settings(s.maxConcurrentStreams);
      this.grant();
    });
    session.on('goaway', () => {
      // Streams in flight finish; new ones go to another session.
      ps.draining = true;
      this.drop(ps);
      if (ps.active <= 0) session.close();
      this.grant();
    });
    session.on('error', () => undefined);
    session.once('close', () => {
      ps.draining = true;
      this.drop(ps);
      this.grant();
    });
    session.setTimeout(idleTimeoutMs, () => {
      if (ps.active <= 0) ps.drain();
    });
    if (this.settings.pingIntervalMs > 0) this.keepAlive(session);
    this.grant();
  }

  /**
   * DestinationRule `http2KeepAlive`, as Envoy's connection keepalive: a PING every interval, and the session
   * closed when one is not answered within the timeout (a peer or a path that went silent without closing).
   * Timers from the injected clock; the loop ends with the session.
   */
  private keepAlive(session: ClientHttp2Session): void {
    const { pingIntervalMs, pingTimeoutMs } = this.settings;
    const tick = (): void => {
      if (session.closed || session.destroyed) return;
      let answered = false;
      session.ping((err) => {
        if (err === null) answered = true;
      });
      this.clock.setTimeout(() => {
        if (!answered && !session.destroyed) session.destroy(new WeftError('UPSTREAM_PING_TIMEOUT', `no answer to an HTTP/2 PING within ${pingTimeoutMs} ms`));
      }, pingTimeoutMs);
      this.clock.setTimeout(tick, pingIntervalMs);
    };
    this.clock.setTimeout(tick, pingIntervalMs);
  }

  /** A draining session takes no new stream. */
  forget(ps: PooledSession): void {
    this.drop(ps);
  }

  private drop(ps: PooledSession): void {
    const i = this.sessions.indexOf(ps);
    if (i >= 0) this.sessions.splice(i, 1);
  }
}

/**
 * The pools of one proxy, by endpoint and identity, then by cluster settings. A push closes the pools of endpoints no
 * cluster lists any more, as the HTTP/1.1 pools do (endpoint-pools.ts): their sessions drain and close, and the
 * streams on them finish first.
 */
export class H2SessionPools {
  private readonly pools = new Map<string, Map<string, H2EndpointPool>>();
  /** The same, per client connection, for clusters whose connections carry a PROXY header naming it. */
  private readonly byClient = new Map<EventEmitter, Map<string, Map<string, H2EndpointPool>>>();
  private readonly listed = new ListedTargets();

  constructor(
    private readonly cert: WorkloadCertificate | undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * `settings`: the cluster's; clusters with other settings get other sessions to the same endpoint. `client`: read
   * only when the settings say `proxyProtocol` (endpoint-pools.ts: the sessions are the client connection's own).
   */
  get(target: UpstreamTarget, settings: HttpPoolSettings = FIXED_POOL_SETTINGS, client?: ProxiedConnection): H2EndpointPool {
    return this.pool(targetKey(target), settings, client, (preface) => new H2EndpointPool(target, this.cert, settings, this.clock, undefined, preface));
  }

  /**
   * A host outside the mesh (a ServiceEntry's http2 or grpc port): h2c, or h2 over TLS this proxy originates.
   * `settings`: its DestinationRule's connection pool, as for a mesh cluster; hosts with other settings get other
   * sessions to the same address.
   */
  external(to: { address: string; port: number }, origination: H2Origination | undefined, settings: HttpPoolSettings = FIXED_POOL_SETTINGS, client?: ProxiedConnection): H2EndpointPool {
    const endpoint = origination === undefined ? `${to.address}:${to.port}|external` : `${to.address}:${to.port}|external|${origination.host}|${policyKey(origination.policy)}`;
    return this.pool(endpoint, settings, client, (preface) => new H2EndpointPool({ address: to.address, port: to.port }, undefined, settings, this.clock, origination, preface));
  }

  /** A push: `joined` and `left` are the endpoints of the clusters it added and removed (listed-targets.ts). */
  retain(joined: Iterable<UpstreamTarget>, left: Iterable<UpstreamTarget>): void {
    for (const key of this.listed.retain(joined, left)) {
      const byTarget = this.pools.get(key);
      if (byTarget === undefined) continue;
      this.pools.delete(key);
      for (const pool of byTarget.values()) pool.close();
    }
  }

  /** Endpoints with sessions (open or opening), for tests. */
  get endpointCount(): number {
    return this.pools.size;
  }

  private pool(key: string, settings: HttpPoolSettings, client: ProxiedConnection | undefined, create: (preface: Preface | undefined) => H2EndpointPool): H2EndpointPool {
    const pools = settings.proxyProtocol !== null && client !== undefined ? this.clientPools(client) : this.pools;
    let byTarget = pools.get(key);
    if (byTarget === undefined) {
      byTarget = new Map();
      pools.set(key, byTarget);
      if (pools === this.pools) this.listed.made(key);
    }
    let pool = byTarget.get(settings.key);
    if (pool === undefined) {
      pool = create(prefaceFor(settings, client));
      byTarget.set(settings.key, pool);
    }
    return pool;
  }

  private clientPools(client: ProxiedConnection): Map<string, Map<string, H2EndpointPool>> {
    let pools = this.byClient.get(client.connection);
    if (pools === undefined) {
      const created = new Map<string, Map<string, H2EndpointPool>>();
      // A stream sent after its client left (a retry): its pool is kept nowhere and its session closes when idle.
      if (client.closed()) return created;
      this.byClient.set(client.connection, created);
      client.connection.once('close', () => {
        this.byClient.delete(client.connection);
        for (const byTarget of created.values()) for (const pool of byTarget.values()) pool.close();
      });
      pools = created;
    }
    return pools;
  }
}
