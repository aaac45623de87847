/**
 * The control plane's side of the push protocol: routes certificate requests (push-signing.ts) and keeps one stream
 * (a TLS connection negotiated with PUSH_ALPN) per connected proxy, closing those that are dead, and sending a new ProxyConfig whenever the compiled result for that proxy changes (whole, or as
 * a delta: push-connection.ts), through bounded send slots (push-sender.ts), and recording its ACK or NACK.
 */
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { WeftError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import type { CertificateAuthority } from '../identity/ca.js';
import type { BootstrapTokens } from '../identity/bootstrap-token.js';
import { parseWorkloadIdentity } from '../identity/spiffe-id.js';
import { PUSH_PATHS } from '../push/protocol.js';
import type { ProxyMessage } from '../push/protocol.js';
import { CONFIG_DELTA_FEATURE } from '../push/config-delta.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';
import { compileProxyConfigParts } from './compile/index.js';
import type { CompiledProxyConfig, ProxyNode } from './compile/index.js';
import type { MeshSnapshot } from './compile/snapshot.js';
import type { ControlLog } from './control-log.js';
import { AckedConfigs } from './acked-configs.js';
import type { RunningConfig } from './acked-configs.js';
import { RuntimeRequests } from './runtime-requests.js';
import { configDigest } from './config-digest.js';
import { ProxyConnection } from './push-connection.js';
import type { PendingConfig, ProxyStatus, SentInputs } from './push-connection.js';
import { ConfigSender, DEFAULT_CONFIGS_IN_FLIGHT } from './push-sender.js';
import { signCertificate } from './push-signing.js';
import { PushStreams } from './push-streams.js';
import type { HelloMessage } from './push-streams.js';

export type { ProxyStatus } from './push-connection.js';

export interface PushServerDeps {
  ca: CertificateAuthority;
  tokens: BootstrapTokens;
  snapshot: () => MeshSnapshot;
  certificateTtlMs: () => number;
  log: ControlLog;
  /** A proxy met a JWT key it does not know. */
  onJwksRefresh: (uris: string[]) => void;
  /** Told of every config sent and every ACK or NACK, for the audit chain; must not throw. */
  onConfigEvent?: (event: ConfigEvent) => void;
  /** Streams that may be sending a config at once (default 64): what is in flight is buffered per stream. */
  maxConfigsInFlight?: number;
  /** Paces the sweep for dead streams (default: the system clock). */
  clock?: Clock;
}

export interface ConfigEvent {
  proxy: string;
  outcome: 'sent' | 'ack' | 'nack';
  configVersion: string;
  /** configDigest (hex) of the config sent, whole or as a delta; null for a version this stream was never sent. */
  configSha256: string | null;
  reason?: string;
  /** Sent configs only. */
  inputs?: SentInputs;
}

export class PushServer {
  #connections = new Set<ProxyConnection>();
  readonly #sender: ConfigSender;
  /** Status of proxies seen, kept after disconnect so `weft status` can say a proxy is gone. */
  #seen = new Map<string, ProxyStatus>();
  /** The config each proxy ACKed, for `weft proxy-config` and `weft route check`. */
  #acked = new AckedConfigs();
  /** The JWKS documents of each snapshot as one object, which every sent config of the snapshot shares. */
  readonly #jwks = new WeakMap<MeshSnapshot, Record<string, string>>();
  #runtime = new RuntimeRequests();

  readonly #streams: PushStreams;

  constructor(private readonly deps: PushServerDeps) {
    this.#sender = new ConfigSender(deps.maxConfigsInFlight ?? DEFAULT_CONFIGS_IN_FLIGHT, (c, next) => this.#write(c, next));
    this.#streams = new PushStreams(
      {
        hello: (socket, peer, msg) => this.#hello(socket, peer, msg),
        message: (conn, msg) => this.#onProxyMessage(conn, msg),
        gone: (conn) => this.#gone(conn),
      },
      deps.log,
      deps.clock ?? systemClock,
    );
  }

  /** Handles a certificate request; false if the path is not one. */
  handle(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): boolean {
    switch (req.url) {
      case PUSH_PATHS.sign:
      case PUSH_PATHS.renew: {
        const { ca, tokens, log, certificateTtlMs } = this.deps;
        const trustDomain = (): string => this.deps.snapshot().mesh.trustDomain;
        void signCertificate({ ca, tokens, log, certificateTtlMs, trustDomain }, req, res, req.url === PUSH_PATHS.renew);
        return true;
      }
      default:
        return false;
    }
  }

  proxies(): ProxyStatus[] {
    return [...this.#seen.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** What a proxy runs: its status and the config it last ACKed (undefined for a proxy never seen). */
  runningConfig(id: string): { status: ProxyStatus; running: RunningConfig | undefined } | undefined {
    const status = this.#seen.get(id);
    return status === undefined ? undefined : { status, running: this.#acked.running(id) };
  }

  /** Asks a connected proxy for its runtime state over its stream. */
  requestRuntime(id: string): Promise<ProxyRuntimeReport> {
    const conn = [...this.#connections].find((c) => c.status.id === id);
    if (conn === undefined) {
      return Promise.reject(new WeftError('UPSTREAM_UNREACHABLE', `proxy ${id} is not connected to the control plane`, { status: 503 }));
    }
    return this.#runtime.ask(conn, id, (reqId) => conn.send({ type: 'report-runtime', id: reqId }));
  }

  /** Recompile for every connected proxy and send what changed. */
  pushAll(): void {
    const snap = this.deps.snapshot();
    for (const c of this.#connections) this.#push(c, snap);
  }

  closeAll(): void {
    this.#streams.closeAll();
    this.#connections.clear();
    this.#sender.clear();
  }

  /**
   * Takes a push stream: a connection negotiated with PUSH_ALPN, from the peer whose verified SPIFFE ID is `peer`
   * (undefined: no client certificate, or one the mesh CA did not sign, and the stream is refused).
   */
  accept(socket: Duplex, peer: string | undefined): void {
    this.#streams.accept(socket, peer);
  }

  /** Closes dead and hostile streams (push-streams.ts); runs every PUSH_PING_INTERVAL_MS. */
  sweep(): void {
    this.#streams.sweep();
  }

  #gone(conn: ProxyConnection): void {
    this.#connections.delete(conn);
    this.#sender.forget(conn);
    this.#runtime.drop(conn, conn.status.id);
    conn.status.connected = false;
    this.deps.log.info('proxy disconnected', { proxy: conn.status.id });
  }

  /** The proxy's connection, or why it is refused. */
  #hello(socket: Duplex, peer: string, hello: HelloMessage): ProxyConnection | string {
    const { node, certNotAfter } = hello;
    let identity: ReturnType<typeof parseWorkloadIdentity>;
    try {
      identity = parseWorkloadIdentity(peer);
    } catch {
      return `${peer} is not a workload identity`;
    }
    if (identity.namespace !== node.namespace) return `certificate is for namespace ${identity.namespace}, not ${node.namespace}`;
    const id = `${node.role}/${node.namespace}/${node.name}`;
    const status: ProxyStatus = {
      id,
      role: node.role,
      namespace: node.namespace,
      name: node.name,
      spiffeId: peer,
      podIP: node.podIP,
      connected: true,
      connectedAt: new Date().toISOString(),
      sentVersion: null,
      ackedVersion: this.#seen.get(id)?.ackedVersion ?? null,
      lastNack: null,
      certNotAfter,
      compileError: null,
      mtlsMode: null,
      sentAs: null,
      resyncs: 0,
    };
    this.#seen.set(id, status);
    const deltas = Array.isArray(hello.accepts) && hello.accepts.includes(CONFIG_DELTA_FEATURE);
    const conn = new ProxyConnection(status, identity.serviceAccount, node, socket, deltas);
    this.#connections.add(conn);
    this.deps.log.info('proxy connected', { proxy: id, spiffeId: peer });
    this.#push(conn, this.deps.snapshot());
    return conn;
  }

  #jwksOf(snap: MeshSnapshot): Record<string, string> {
    let jwks = this.#jwks.get(snap);
    if (jwks === undefined) {
      jwks = Object.fromEntries(snap.jwks);
      this.#jwks.set(snap, jwks);
    }
    return jwks;
  }

  #push(c: ProxyConnection, snap: MeshSnapshot): void {
    let compiled: CompiledProxyConfig;
    const node: ProxyNode = { role: c.node.role, namespace: c.node.namespace, name: c.node.name, serviceAccount: c.serviceAccount };
    if (c.node.labels !== undefined) node.labels = c.node.labels;
    try {
      compiled = compileProxyConfigParts(snap, node);
      c.status.compileError = null;
    } catch (err) {
      c.status.compileError = (err as Error).message;
      this.deps.log.warn('cannot compile config for proxy', { proxy: c.status.id, reason: c.status.compileError });
      return;
    }
    c.status.mtlsMode = compiled.config.inbound?.defaultMode ?? null;
    // Recorded with the config sent, so that it can be compiled again from history (enforced-config.ts).
    const inputs: SentInputs = { revision: snap.revision, node, jwks: this.#jwksOf(snap) };
    if (snap.serviceCidr !== undefined) inputs.serviceCidr = snap.serviceCidr;
    this.#sender.offer(c, { compiled, inputs });
  }

  #write(c: ProxyConnection, { compiled, inputs }: PendingConfig): boolean {
    const { version } = compiled.config;
    this.#acked.sent(c.status.id, compiled.config);
    let digest: string | undefined;
    if (this.deps.onConfigEvent) {
      digest = configDigest(compiled.jsonParts);
      this.deps.onConfigEvent({ proxy: c.status.id, outcome: 'sent', configVersion: version, configSha256: digest, inputs });
    }
    return c.write(compiled, digest);
  }

  #recordOutcome(c: ProxyConnection, outcome: 'ack' | 'nack', version: unknown, reason?: unknown): void {
    if (!this.deps.onConfigEvent || typeof version !== 'string') return;
    const event: ConfigEvent = { proxy: c.status.id, outcome, configVersion: version, configSha256: c.digestOf(version) };
    if (typeof reason === 'string') event.reason = reason.slice(0, 1024);
    this.deps.onConfigEvent(event);
  }

  #onProxyMessage(c: ProxyConnection, msg: ProxyMessage): void {
    switch (msg.type) {
      case 'ack':
        c.acked(msg.version);
        if (typeof msg.version === 'string') this.#acked.ack(c.status.id, msg.version);
        this.#recordOutcome(c, 'ack', msg.version);
        break;
      case 'nack':
        c.nacked(msg.version, msg.reason, new Date().toISOString());
        if (typeof msg.version === 'string') this.#acked.nack(c.status.id, msg.version);
        this.#recordOutcome(c, 'nack', msg.version, msg.reason);
        this.deps.log.warn('proxy rejected config', { proxy: c.status.id, version: msg.version, reason: msg.reason });
        break;
      case 'cert':
        c.status.certNotAfter = msg.notAfter;
        break;
      case 'resync':
        this.deps.log.info('proxy asked for its whole config', { proxy: c.status.id, have: msg.have, reason: msg.reason });
        c.resync();
        this.#push(c, this.deps.snapshot());
        break;
      case 'jwks-refresh':
        if (Array.isArray(msg.uris)) this.deps.onJwksRefresh(msg.uris.filter((u): u is string => typeof u === 'string').slice(0, 64));
        break;
      case 'runtime':
        this.#runtime.answer(c, msg.id, 'report' in msg ? msg.report : undefined, 'error' in msg ? msg.error : undefined);
        break;
      case 'ping':
        c.send({ type: 'pong' });
        break;
      case 'hello':
        break;
    }
  }
}
