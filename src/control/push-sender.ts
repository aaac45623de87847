/**
 * Send slots for configs. A config not yet handed to the stream in full (it goes a piece at a time, push-lines.ts),
 * or a full buffer (the proxy reads slowly, or HTTP/2 flow control holds the stream), blocks the connection until
 * it is; meanwhile only the newest config is kept, so a slow proxy costs one pending config,
 * not one per change. A blocked stream holds a slot: with thousands of proxies, the bytes buffered for them at once
 * stay bounded, and the rest wait their turn in arrival order.
 */
import type { PendingConfig, ProxyConnection } from './push-connection.js';

/** Streams that may be sending a config at once, unless told otherwise. */
export const DEFAULT_CONFIGS_IN_FLIGHT = 64;

export class ConfigSender {
  #inFlight = 0;
  readonly #waiting = new Set<ProxyConnection>();

  constructor(
    private readonly max: number,
    /** Writes one config (recording it as sent); false when the stream's buffer is full. */
    private readonly write: (c: ProxyConnection, next: PendingConfig) => boolean,
  ) {}

  /** The newest config for `c`: written when a slot is free, or kept (replacing an older one) until then. */
  offer(c: ProxyConnection, next: PendingConfig): void {
    const { version } = next.compiled.config;
    if (c.blocked || this.#waiting.has(c)) {
      c.pending = version === c.status.sentVersion ? undefined : next;
      if (!c.pending) this.#waiting.delete(c);
      return;
    }
    if (version === c.status.sentVersion) return;
    c.pending = next;
    this.#waiting.add(c);
    this.#sendWaiting();
  }

  /** A closed stream never drains: give back its slot. */
  forget(c: ProxyConnection): void {
    if (c.blocked) {
      c.blocked = false;
      this.#inFlight--;
    }
    c.pending = undefined;
    this.#waiting.delete(c);
    this.#sendWaiting();
  }

  clear(): void {
    this.#waiting.clear();
    this.#inFlight = 0;
  }

  #sendWaiting(): void {
    for (const c of this.#waiting) {
      if (this.#inFlight >= this.max) return;
      this.#waiting.delete(c);
      const next = c.pending;
      c.pending = undefined;
      if (next && next.compiled.config.version !== c.status.sentVersion && c.open) this.#send(c, next);
    }
  }

  #send(c: ProxyConnection, next: PendingConfig): void {
    if (this.write(c, next)) return;
    c.blocked = true;
    this.#inFlight++;
    c.onceWritten(() => {
      if (!c.blocked) return;
      c.blocked = false;
      this.#inFlight--;
      if (c.pending) this.#waiting.add(c);
      this.#sendWaiting();
    });
  }
}
