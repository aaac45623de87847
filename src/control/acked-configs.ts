/**
 * The config each proxy is running: the last version it ACKed, kept as the object that was sent. A NACKed version
 * is never recorded as running, so a proxy that refused its newest config still shows its last good one (Envoy's
 * rule: the proxy keeps serving it). Kept per proxy id across reconnects of its stream; a control plane that
 * restarts knows a proxy's config again at its next ACK. The big sections of a config are shared between proxies
 * (compile/snapshot-memo.ts), so holding one per proxy costs little beyond its own part.
 */
import type { ProxyConfig } from '../proxyconfig/types.js';

/** Versions sent and not yet answered, per proxy: the stream drops older ones, so a few are enough. */
const MAX_UNANSWERED = 8;

export interface RunningConfig {
  config: ProxyConfig;
  /** When the ACK arrived. */
  ackedAt: string;
}

interface ProxyConfigs {
  unanswered: Map<string, ProxyConfig>;
  running: RunningConfig | undefined;
}

export class AckedConfigs {
  readonly #byProxy = new Map<string, ProxyConfigs>();

  constructor(private readonly now: () => number = Date.now) {}

  #of(proxy: string): ProxyConfigs {
    let p = this.#byProxy.get(proxy);
    if (p === undefined) {
      p = { unanswered: new Map(), running: undefined };
      this.#byProxy.set(proxy, p);
    }
    return p;
  }

  sent(proxy: string, config: ProxyConfig): void {
    const { unanswered } = this.#of(proxy);
    unanswered.delete(config.version);
    if (unanswered.size >= MAX_UNANSWERED) unanswered.delete(unanswered.keys().next().value as string);
    unanswered.set(config.version, config);
  }

  /** The proxy runs `version` now; versions sent before it are superseded. An ACK of a version not sent is ignored. */
  ack(proxy: string, version: string): void {
    const p = this.#of(proxy);
    const config = p.unanswered.get(version) ?? (p.running?.config.version === version ? p.running.config : undefined);
    if (config === undefined) return;
    p.running = { config, ackedAt: new Date(this.now()).toISOString() };
    for (const v of [...p.unanswered.keys()]) {
      p.unanswered.delete(v);
      if (v === version) break;
    }
  }

  nack(proxy: string, version: string): void {
    this.#byProxy.get(proxy)?.unanswered.delete(version);
  }

  running(proxy: string): RunningConfig | undefined {
    return this.#byProxy.get(proxy)?.running;
  }
}
