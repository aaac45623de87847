/**
 * One proxy's push stream as the control plane holds it: the proxy's status as `weft status` shows it, and what
 * incremental pushes need to know of it (the config it holds once it has applied everything written, the one it
 * last ACKed, those written and not yet answered). Kept small: the configs are compiled objects whose big sections
 * are shared between proxies, so a connection costs its own part and a few versions' bookkeeping.
 */
import type { Duplex } from 'node:stream';
import type { NodeInfo } from '../push/protocol.js';
import type { CompiledProxyConfig } from './compile/index.js';
import type { PushInputs } from './store/audit-chain.js';
import { configDeltaParts } from './push-delta.js';
import { LineWriter, sendMessage, writeConfigLine, writeDeltaLine } from './push-lines.js';
import type { ControlMessage } from '../push/protocol.js';

export interface ProxyStatus {
  id: string;
  role: 'sidecar' | 'gateway';
  namespace: string;
  name: string;
  spiffeId: string;
  podIP: string;
  connected: boolean;
  connectedAt: string;
  sentVersion: string | null;
  ackedVersion: string | null;
  lastNack: { version: string; reason: string; at: string } | null;
  certNotAfter: string | null;
  compileError: string | null;
  /** The sidecar's default inbound mTLS mode, from its last compiled config. */
  mtlsMode: string | null;
  /** How the last config was written: whole, or as what changed since the one before. */
  sentAs: 'config' | 'config-delta' | null;
  /** Times this proxy asked for its whole config since it connected (a delta came against a version it lacked). */
  resyncs: number;
}

/**
 * What a config was compiled from besides the store's resources at `revision`, as the push server hands it to the
 * audit: the JWKS documents as one object per snapshot, which the control plane records once (compile-settings-record.ts).
 */
export type SentInputs = Omit<PushInputs, 'settings' | 'bootstrap' | 'jwks'> & { jwks: Record<string, string> };

export interface PendingConfig {
  compiled: CompiledProxyConfig;
  inputs: SentInputs;
}

/** Only the newest few versions can still be answered; older ones are superseded on the stream. */
const ANSWERABLE_VERSIONS = 8;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= ANSWERABLE_VERSIONS) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

export class ProxyConnection {
  /** The last line is not all handed to the stream, or its buffer is full: the next config waits. */
  blocked = false;
  /** The newest config not yet written (blocked, or waiting for a send slot); an older one is dropped, never sent. */
  pending: PendingConfig | undefined;
  /**
   * The config the proxy holds once it has applied everything written: the base of the next delta. Undefined: the
   * next config goes whole (first on a stream, after a NACK with nothing ACKed, on a resync request).
   */
  #base: CompiledProxyConfig | undefined;
  /** The config last ACKed on this stream, the base again after a NACK. */
  #acked: CompiledProxyConfig | undefined;
  /** Configs written and not yet answered, by version. */
  readonly #unanswered = new Map<string, CompiledProxyConfig>();
  /** The audit digest of each config version written, for the record of its ACK or NACK. */
  readonly #digests = new Map<string, string>();
  /** Every line to this proxy goes through it, a piece at a time. */
  readonly writer: LineWriter;

  constructor(
    readonly status: ProxyStatus,
    readonly serviceAccount: string,
    readonly node: NodeInfo,
    /** The proxy's TLS connection, negotiated for the push stream alone. */
    readonly stream: Duplex,
    /** The proxy's hello accepts `config-delta`. */
    readonly deltas: boolean,
  ) {
    this.writer = new LineWriter(stream);
  }

  get open(): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded;
  }

  /**
   * Writes `compiled`, as what changed since the config the proxy will hold when it gets here if it takes deltas,
   * else whole; false when it is not all handed to the stream yet (onceWritten says when).
   */
  write(compiled: CompiledProxyConfig, digest: string | undefined): boolean {
    const { version } = compiled.config;
    this.status.sentVersion = version;
    if (digest !== undefined) remember(this.#digests, version, digest);
    remember(this.#unanswered, version, compiled);
    const base = this.deltas ? this.#base : undefined;
    this.#base = compiled;
    this.status.sentAs = base === undefined ? 'config' : 'config-delta';
    return base === undefined ? writeConfigLine(this.writer, compiled.jsonParts) : writeDeltaLine(this.writer, configDeltaParts(base, compiled));
  }

  /** Calls `then` once everything written has been handed to the stream and it has room (never if it closes first). */
  onceWritten(then: () => void): void {
    this.writer.onceWritten(then);
  }

  /** A control message, after any line still being written. */
  send(msg: ControlMessage): void {
    if (this.open) sendMessage(this.writer, msg);
  }

  digestOf(version: string): string | null {
    return this.#digests.get(version) ?? null;
  }

  acked(version: string): void {
    this.status.ackedVersion = version;
    this.#acked = this.#unanswered.get(version) ?? this.#acked;
    this.#unanswered.delete(version);
  }

  /**
   * The proxy still holds what it last ACKed: later deltas go against that (those already written against the
   * rejected version will not merge, and the proxy asks for a resync).
   */
  nacked(version: string, reason: string, at: string): void {
    this.status.lastNack = { version, reason, at };
    this.#unanswered.delete(version);
    this.#base = this.#acked;
  }

  /** The proxy asked for its whole config: the next one goes whole, even if it is the version last sent. */
  resync(): void {
    this.#base = undefined;
    this.status.resyncs++;
    this.status.sentVersion = null;
  }
}
