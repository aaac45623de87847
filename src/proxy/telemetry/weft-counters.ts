/**
 * weft's own metrics beside Istio's, each labelled with the proxy's workload (`namespace/name`): authorization
 * verdicts (enforced and dry-run) per deciding policy, requests a LocalRateLimitPolicy refused, egress allowed and
 * refused per destination, the TLS of mesh connections, access-log entries dropped, spans exported and dropped.
 */
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { AccessLogEntry } from './access-log.js';
import { BLACKHOLE, PASSTHROUGH } from './istio-labels.js';
import { meshTlsChannel, tlsLabelsOf } from './mesh-tls.js';
import type { MeshTlsMessage } from './mesh-tls.js';
import type { SpanExportCounts } from './span-export.js';

export class WeftCounters {
  readonly #authz: Counter;
  readonly #egress: Counter;
  readonly #egressDenied: Counter;
  readonly #rateLimited: Counter;
  readonly #meshTls: Counter;
  readonly #logDropped: Counter;
  readonly #spansExported: Counter;
  readonly #spansDropped: Counter;

  /** What the span exporter reports. */
  readonly spanCounts: SpanExportCounts = {
    exported: (n) => this.#spansExported.inc({ workload: this.workload }, n),
    dropped: (n, reason) => this.#spansDropped.inc({ reason, workload: this.workload }, n),
  };

  /** `config`: the config in force, whose identity tells this proxy's mesh connections from others in the process. */
  constructor(
    registry: Registry,
    private readonly workload: string,
    private readonly config: () => ProxyConfig | undefined,
  ) {
    this.#authz = new Counter({
      name: 'weft_authz_decisions_total',
      help: 'Authorization verdicts: mode "enforced" decided the request, mode "dry_run" only records what a dry-run policy would have done',
      labelNames: ['policy', 'decision', 'mode', 'workload'],
      registers: [registry],
    });
    this.#egress = new Counter({
      name: 'weft_egress_total',
      help: 'Outbound requests and connections to destinations outside the mesh registry: allowed (a ServiceEntry, or ALLOW_ANY passthrough) or denied (REGISTRY_ONLY), by ServiceEntry',
      labelNames: ['decision', 'protocol', 'service_entry', 'workload'],
      registers: [registry],
    });
    this.#egressDenied = new Counter({
      name: 'weft_egress_denied_total',
      help: 'Outbound requests and connections refused by the REGISTRY_ONLY traffic policy: no mesh service or ServiceEntry matched',
      labelNames: ['protocol', 'workload'],
      registers: [registry],
    });
    this.#rateLimited = new Counter({
      name: 'weft_rate_limited_total',
      help: 'Inbound requests refused by a LocalRateLimitPolicy, by policy (namespace/name) and the limit that refused them (total, identity or override)',
      labelNames: ['policy', 'scope', 'workload'],
      registers: [registry],
    });
    this.#meshTls = new Counter({
      name: 'weft_mesh_tls_connections_total',
      help: 'Mesh mTLS connections by direction and what was negotiated: TLS version, cipher, key exchange group (known to the dialling side only)',
      labelNames: ['direction', 'tls_version', 'cipher', 'key_exchange', 'workload'],
      registers: [registry],
    });
    this.#logDropped = new Counter({
      name: 'weft_access_log_dropped_total',
      help: 'Access-log entries dropped because the writer fell too far behind',
      labelNames: ['workload'],
      registers: [registry],
    });
    this.#spansExported = new Counter({ name: 'weft_spans_exported_total', help: 'Spans the collector accepted', labelNames: ['workload'], registers: [registry] });
    this.#spansDropped = new Counter({
      name: 'weft_spans_dropped_total',
      help: 'Spans dropped: queue_full (the collector fell behind) or export_failed (it refused or could not be reached)',
      labelNames: ['reason', 'workload'],
      registers: [registry],
    });
    meshTlsChannel.subscribe(this.#onMeshTls);
  }

  #onMeshTls = (message: unknown): void => {
    const m = message as MeshTlsMessage;
    const own = this.config()?.proxy.spiffeId;
    if (own !== undefined && m.local !== own) return;
    this.#meshTls.inc({ direction: m.direction, ...tlsLabelsOf(m.socket), workload: this.workload });
  };

  accessLogDropped(n: number): void {
    this.#logDropped.inc({ workload: this.workload }, n);
  }

  /** Verdicts of one request or connection: egress, rate limit, authorization enforced and dry-run. */
  record(e: AccessLogEntry): void {
    if (e.egress !== undefined) {
      this.#egress.inc({ decision: e.egress.decision === 'denied' ? 'denied' : 'allowed', protocol: e.egress.protocol, service_entry: e.egress.serviceEntry ?? (e.egress.decision === 'passthrough' ? PASSTHROUGH : BLACKHOLE), workload: this.workload });
      if (e.egress.decision === 'denied') this.#egressDenied.inc({ protocol: e.egress.protocol, workload: this.workload });
    }
    // Both labels come from config (the policy's name) or a fixed set (the scope), never from the request.
    if (e.rateLimit) this.#rateLimited.inc({ policy: e.rateLimit.policy, scope: e.rateLimit.scope, workload: this.workload });
    if (e.authz && (e.authz.decision !== 'ALLOW' || e.authz.policy !== null)) {
      this.#authz.inc({ policy: e.authz.policy ?? 'none', decision: e.authz.decision, mode: 'enforced', workload: this.workload });
    }
    for (const d of e.dryRun ?? []) this.#authz.inc({ policy: d.policy, decision: d.wouldDeny ? 'DENY' : 'ALLOW', mode: 'dry_run', workload: this.workload });
  }

  /** Stop counting mesh connections (a proxy that stops inside a longer-lived process). */
  close(): void {
    meshTlsChannel.unsubscribe(this.#onMeshTls);
  }
}
