/**
 * The proxy's half of incremental pushes: full configs and deltas are applied one at a time, in the order they
 * arrived, each against the config last applied. A full config is checked against the ProxyConfig schema and
 * compiled whole. A delta is merged into a new object (the applied config is never modified), and only what it
 * changed is checked and compiled (acceptMergedConfig): it accepts and refuses exactly what a check of the merged
 * whole does, at the cost of the change rather than of the whole config. Either is handed compiled to `onConfig`,
 * which swaps it in atomically, or refused (NACK) with the last good config serving. A delta against a version this
 * proxy does not hold is not merged: it asks for the whole config once, and drops deltas until one arrives.
 */
import { isWeftError } from '../../errors.js';
import { applyConfigDelta, parseConfigDelta } from '../../push/config-delta.js';
import type { ProxyMessage } from '../../push/protocol.js';
import type { ProxyLog } from '../proxy-runtime.js';
import { acceptMergedConfig, acceptProxyConfig } from '../config/compiled-config.js';
import type { CompiledProxyConfig } from '../config/compiled-config.js';

/** A config made ready to apply, holding the config as received (or merged), the base the next delta applies to. */
export interface ReceivedConfig {
  readonly raw: unknown;
}

/**
 * How a config is made ready to apply; throwing refuses it (NACK). The proxy checks and compiles (the default);
 * the scale bench's simulated proxies only read what arrived, so that it measures the control plane.
 */
export interface ConfigAcceptor<C extends ReceivedConfig> {
  whole(config: unknown): C;
  merged(merged: unknown, base: C): C;
}

export const COMPILING_ACCEPTOR: ConfigAcceptor<CompiledProxyConfig> = { whole: acceptProxyConfig, merged: acceptMergedConfig };

export interface ConfigReceiverOptions<C extends ReceivedConfig = CompiledProxyConfig> {
  /** Apply a checked and compiled config; reject with the reason to NACK it. Resolves to the version applied. */
  onConfig: (config: C) => Promise<string>;
  send: (msg: ProxyMessage) => void;
  log: ProxyLog;
  /** The proxy's (checked and compiled) unless given. */
  acceptor?: ConfigAcceptor<C>;
}

export class ConfigReceiver<C extends ReceivedConfig = CompiledProxyConfig> {
  /** The config last applied: the base deltas apply to, and the compiled parts they keep. */
  #applied: { version: string; config: C } | undefined;
  #awaitingFull = false;
  #queue: Promise<void> = Promise.resolve();

  readonly #accept: ConfigAcceptor<C>;

  constructor(private readonly o: ConfigReceiverOptions<C>) {
    // Without an acceptor C is CompiledProxyConfig, the default type argument.
    this.#accept = o.acceptor ?? (COMPILING_ACCEPTOR as unknown as ConfigAcceptor<C>);
  }

  get appliedVersion(): string | null {
    return this.#applied?.version ?? null;
  }

  /** A new stream starts with a full config: nothing sent on the old one is awaited. */
  reset(): void {
    this.#awaitingFull = false;
  }

  full(config: unknown): void {
    this.#enqueue(() => {
      this.#awaitingFull = false;
      const version = (config as { version?: unknown } | null)?.version;
      return this.#apply(() => this.#accept.whole(config), typeof version === 'string' ? version : '');
    });
  }

  delta(msg: unknown): void {
    this.#enqueue(() => {
      if (this.#awaitingFull) return Promise.resolve();
      let merged: unknown;
      let base: C;
      let version = '';
      try {
        const delta = parseConfigDelta(msg);
        version = delta.version;
        if (this.#applied?.version !== delta.base) {
          this.#awaitingFull = true;
          const have = this.#applied?.version ?? null;
          this.o.log.warn('config delta is against another version; asking for the whole config', { base: delta.base, have });
          this.o.send({ type: 'resync', have, reason: `delta against ${delta.base}` });
          return Promise.resolve();
        }
        base = this.#applied.config;
        merged = applyConfigDelta(base.raw, delta);
      } catch (err) {
        // A delta that cannot be read or merged is NACKed like a config that cannot be applied.
        const reason = isWeftError(err) ? err.message : String(err);
        this.o.log.warn('config delta rejected; keeping the last good config', { version, reason });
        this.o.send({ type: 'nack', version, reason });
        return Promise.resolve();
      }
      return this.#apply(() => this.#accept.merged(merged, base), version);
    });
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step, step);
  }

  /** `accept` checks and compiles the config; a config it refuses is NACKed like one `onConfig` refuses. */
  #apply(accept: () => C, version: string): Promise<void> {
    let config: C;
    try {
      config = accept();
    } catch (err) {
      this.#refused(err, version);
      return Promise.resolve();
    }
    return this.o.onConfig(config).then(
      (applied) => {
        this.#applied = { version: applied, config };
        this.o.send({ type: 'ack', version: applied });
      },
      (err: unknown) => this.#refused(err, version),
    );
  }

  #refused(err: unknown, version: string): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.o.log.warn('config rejected; keeping the last good one', { version, reason });
    this.o.send({ type: 'nack', version, reason });
  }
}
