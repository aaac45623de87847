/**
 * The control plane's Prometheus metrics, with istiod's names where istiod has one, so Istio's control-plane
 * dashboards and alerts read them: pushes and their convergence time (sent until the proxy ACKed it), NACKs,
 * connected proxies, CSRs signed, and weft's own store revision and per-proxy staleness. Served on a plaintext
 * listener of its own (istiod's monitoring port, 15014), never on the authenticated API.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { ConfigEvent, ProxyStatus } from './push-server.js';

/** istiod's buckets for pilot_proxy_convergence_time (seconds). */
export const CONVERGENCE_BUCKETS_S = [0.1, 0.5, 1, 3, 5, 10, 20, 30];
/** Sent versions remembered per proxy until their ACK or NACK; older ones were superseded. */
const MAX_SENT_PER_PROXY = 8;

export interface ControlMetricsSources {
  clock: Pick<Clock, 'now'>;
  revision: () => number;
  proxies: () => readonly ProxyStatus[];
}

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly #pushes = new Counter({ name: 'pilot_xds_pushes', help: 'Configs pushed to proxies, by type (weft pushes one ProxyConfig)', labelNames: ['type'], registers: [this.registry] });
  readonly #rejects = new Counter({ name: 'pilot_total_xds_rejects', help: 'Configs proxies rejected (NACK), by type', labelNames: ['type'], registers: [this.registry] });
  readonly #convergence = new Histogram({
    name: 'pilot_proxy_convergence_time',
    help: 'Seconds from sending a proxy its config to its ACK',
    buckets: CONVERGENCE_BUCKETS_S,
    registers: [this.registry],
  });
  readonly #csrs = new Counter({ name: 'citadel_server_csr_count', help: 'Certificate signing requests received', registers: [this.registry] });
  readonly #issued = new Counter({ name: 'citadel_server_success_cert_issuance_count', help: 'Certificates signed', registers: [this.registry] });
  readonly #csrErrors = new Counter({ name: 'citadel_server_csr_sign_err_count', help: 'Certificate signing requests refused or failed', registers: [this.registry] });
  /** Sent-at time per proxy and config version. */
  readonly #sent = new Map<string, Map<string, number>>();

  constructor(private readonly src: ControlMetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'pilot_xds',
      help: 'Proxies connected to this control plane',
      registers,
      collect() {
        this.set(src.proxies().filter((p) => p.connected).length);
      },
    });
    new Gauge({
      name: 'weft_store_revision',
      help: "The store's current revision",
      registers,
      collect() {
        this.set(src.revision());
      },
    });
    new Gauge({
      name: 'weft_proxy_config_stale',
      help: 'Per connected proxy: 1 while its last config sent is not ACKed (not yet, or NACKed), else 0',
      labelNames: ['proxy'],
      registers,
      collect() {
        this.reset();
        for (const p of src.proxies()) if (p.connected) this.set({ proxy: p.id }, p.sentVersion !== null && p.sentVersion !== p.ackedVersion ? 1 : 0);
      },
    });
    new Gauge({
      name: 'weft_proxy_nack',
      help: 'Per connected proxy: 1 while the last config it answered was NACKed',
      labelNames: ['proxy'],
      registers,
      collect() {
        this.reset();
        for (const p of src.proxies()) if (p.connected) this.set({ proxy: p.id }, p.lastNack !== null && p.lastNack.version === p.sentVersion ? 1 : 0);
      },
    });
  }

  /** Every config sent and every ACK or NACK (the push server's audit hook). */
  configEvent(e: ConfigEvent): void {
    let sent = this.#sent.get(e.proxy);
    switch (e.outcome) {
      case 'sent':
        this.#pushes.inc({ type: 'proxyconfig' });
        if (!sent) this.#sent.set(e.proxy, (sent = new Map()));
        if (sent.size >= MAX_SENT_PER_PROXY) sent.delete(sent.keys().next().value as string);
        sent.set(e.configVersion, this.src.clock.now());
        return;
      case 'ack': {
        const at = sent?.get(e.configVersion);
        if (at !== undefined) this.#convergence.observe((this.src.clock.now() - at) / 1000);
        sent?.delete(e.configVersion);
        return;
      }
      case 'nack':
        this.#rejects.inc({ type: 'proxyconfig' });
        sent?.delete(e.configVersion);
    }
  }

  /** A CSR arrived; `ok` once it is signed or refused. */
  csr(ok: boolean): void {
    this.#csrs.inc();
    if (ok) this.#issued.inc();
    else this.#csrErrors.inc();
  }

  /** istiod's monitoring listener: GET /metrics. */
  server(): http.Server {
    return http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/stats/prometheus')) {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
  }
}
