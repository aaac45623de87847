/**
 * The proxy's half of incremental pushes: full configs and deltas are applied one at a time, in the order they
 * arrived, each against the config last applied. A delta is merged into a new object (the applied config is never
 * modified) and handed to `onConfig` like a full config, which validates the merged whole against the ProxyConfig
 * schema and applies it atomically, or rejects it (NACK) and the last good config keeps serving. A delta against
 * a version this proxy does not hold is not merged: it asks for the whole config once, and drops deltas until one
 * arrives.
 */
import { isWeftError } from '../../errors.js';
import { applyConfigDelta, parseConfigDelta } from '../../push/config-delta.js';
import type { ProxyMessage } from '../../push/protocol.js';
import type { ProxyLog } from '../proxy-runtime.js';

export interface ConfigReceiverOptions {
  /** Apply a config; reject with the reason to NACK it. Resolves to the version applied. */
  onConfig: (config: unknown) => Promise<string>;
  send: (msg: ProxyMessage) => void;
  log: ProxyLog;
}

export class ConfigReceiver {
  /** The config last applied, as received or merged: the base deltas apply to. */
  #applied: { version: string; config: unknown } | undefined;
  #awaitingFull = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: ConfigReceiverOptions) {}

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
      return this.#apply(config, typeof version === 'string' ? version : '');
    });
  }

  delta(msg: unknown): void {
    this.#enqueue(() => {
      if (this.#awaitingFull) return Promise.resolve();
      let merged: unknown;
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
        merged = applyConfigDelta(this.#applied.config, delta);
      } catch (err) {
        // A delta that cannot be read or merged is NACKed like a config that cannot be applied.
        const reason = isWeftError(err) ? err.message : String(err);
        this.o.log.warn('config delta rejected; keeping the last good config', { version, reason });
        this.o.send({ type: 'nack', version, reason });
        return Promise.resolve();
      }
      return this.#apply(merged, version);
    });
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step, step);
  }

  #apply(config: unknown, version: string): Promise<void> {
    return this.o.onConfig(config).then(
      (applied) => {
        this.#applied = { version: applied, config };
        this.o.send({ type: 'ack', version: applied });
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.o.log.warn('config rejected; keeping the last good one', { version, reason });
        this.o.send({ type: 'nack', version, reason });
      },
    );
  }
}
