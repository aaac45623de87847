/**
 * Requests for a proxy's runtime report over its push stream: each gets an id the proxy echoes, and is answered by
 * the proxy's `runtime` message, failed when the stream closes, or timed out. The report is the proxy's own word on
 * state only it holds (endpoint health, the certificate it serves with).
 */
import { randomUUID } from 'node:crypto';
import { WeftError } from '../errors.js';
import type { ProxyRuntimeReport } from '../push/runtime-report.js';

interface Pending {
  owner: object;
  resolve: (r: ProxyRuntimeReport) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class RuntimeRequests {
  readonly #pending = new Map<string, Pending>();

  constructor(private readonly timeoutMs = 5_000) {}

  /** Sends a request with `send(id)` on the stream `owner` stands for; resolves with the proxy's answer. */
  ask(owner: object, proxy: string, send: (id: string) => void): Promise<ProxyRuntimeReport> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new WeftError('UPSTREAM_UNREACHABLE', `proxy ${proxy} did not report its runtime state within ${this.timeoutMs}ms`, { status: 504 }));
      }, this.timeoutMs);
      timer.unref();
      this.#pending.set(id, { owner, resolve, reject, timer });
      send(id);
    });
  }

  /** A proxy's answer; ignored unless this stream was asked with that id. */
  answer(owner: object, id: unknown, report: unknown, error?: unknown): void {
    if (typeof id !== 'string') return;
    const p = this.#pending.get(id);
    if (p === undefined || p.owner !== owner) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (typeof report === 'object' && report !== null) p.resolve(report as ProxyRuntimeReport);
    else p.reject(new WeftError('UPSTREAM_UNREACHABLE', `the proxy could not report its runtime state: ${typeof error === 'string' ? error.slice(0, 512) : 'no report'}`, { status: 502 }));
  }

  /** The stream closed: its questions will not be answered. */
  drop(owner: object, proxy: string): void {
    for (const [id, p] of this.#pending) {
      if (p.owner !== owner) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new WeftError('UPSTREAM_UNREACHABLE', `proxy ${proxy} disconnected before it reported`, { status: 503 }));
    }
  }
}
