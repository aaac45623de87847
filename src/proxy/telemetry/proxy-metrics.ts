/**
 * The proxy's Prometheus metrics, with Istio's standard names so existing dashboards and alerts work:
 * istio_requests_total, istio_request_duration_milliseconds, istio_tcp_connections_opened_total; and weft's own
 * weft_authz_decisions_total, which counts enforced and dry-run (shadow) verdicts per deciding policy; and
 * weft_egress_denied_total, the connections and requests REGISTRY_ONLY refused for want of a ServiceEntry; and
 * weft_rate_limited_total, the requests a LocalRateLimitPolicy refused, by policy and by which of its limits.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { AccessLogEntry } from './access-log.js';

const REQUEST_LABELS = ['reporter', 'source_principal', 'destination_service', 'request_protocol', 'response_code'] as const;

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({ name: 'istio_requests_total', help: 'Requests handled by this proxy', labelNames: REQUEST_LABELS, registers: [this.registry] });
  readonly #duration = new Histogram({
    name: 'istio_request_duration_milliseconds',
    help: 'Request duration as seen by this proxy',
    labelNames: ['reporter', 'response_code'],
    buckets: [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [this.registry],
  });
  readonly #tcpOpened = new Counter({
    name: 'istio_tcp_connections_opened_total',
    help: 'Opaque TCP connections opened through this proxy',
    labelNames: ['reporter', 'source_principal'],
    registers: [this.registry],
  });
  readonly #authz = new Counter({
    name: 'weft_authz_decisions_total',
    help: 'Authorization verdicts: mode "enforced" decided the request, mode "dry_run" only records what a dry-run policy would have done',
    labelNames: ['policy', 'decision', 'mode'],
    registers: [this.registry],
  });

  readonly #egressDenied = new Counter({
    name: 'weft_egress_denied_total',
    help: 'Outbound requests and connections refused by the REGISTRY_ONLY traffic policy: no mesh service or ServiceEntry matched',
    labelNames: ['protocol'],
    registers: [this.registry],
  });

  readonly #rateLimited = new Counter({
    name: 'weft_rate_limited_total',
    help: 'Inbound requests refused by a LocalRateLimitPolicy, by policy (namespace/name) and the limit that refused them (total, identity or override)',
    labelNames: ['policy', 'scope'],
    registers: [this.registry],
  });

  constructor(readonly workload: string) {
    this.registry.setDefaultLabels({ workload });
  }

  record(e: AccessLogEntry): void {
    const reporter = e.direction === 'outbound' ? 'source' : 'destination';
    const code = String(e.status);
    if (e.egress?.decision === 'denied') this.#egressDenied.inc({ protocol: e.egress.protocol });
    // Both labels come from config (the policy's name) or a fixed set (the scope), never from the request.
    if (e.rateLimit) this.#rateLimited.inc({ policy: e.rateLimit.policy, scope: e.rateLimit.scope });
    if (e.method === 'TCP' || e.method === 'CONNECT') {
      this.#tcpOpened.inc({ reporter, source_principal: e.peer ?? 'unknown' });
    } else {
      this.#requests.inc({
        reporter,
        source_principal: e.peer ?? 'unknown',
        // Never the authority or the upstream address: a client could mint a series per invented Host.
        destination_service: e.destinationService ?? 'unknown',
        request_protocol: 'http',
        response_code: code,
      });
      this.#duration.observe({ reporter, response_code: code }, e.durationMs);
    }
    if (e.authz && (e.authz.decision !== 'ALLOW' || e.authz.policy !== null)) {
      this.#authz.inc({ policy: e.authz.policy ?? 'none', decision: e.authz.decision, mode: 'enforced' });
    }
    for (const d of e.dryRun ?? []) this.#authz.inc({ policy: d.policy, decision: d.wouldDeny ? 'DENY' : 'ALLOW', mode: 'dry_run' });
  }
}
