/**
 * The proxy's Prometheus metrics. Istio's standard metrics with Istio's names, labels and buckets, so existing
 * dashboards, Kiali and alerts read them unchanged (istio-labels.ts says where each label value comes from); and
 * weft's own (weft-counters.ts): authorization verdicts, rate limiting, egress, the TLS of mesh connections.
 *
 * Istio's metrics are kept per series as plain numbers (istio-series.ts) and read by prom-client at scrape time.
 */
import { Registry } from 'prom-client';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { AccessLogEntry } from './access-log.js';
import { peerLabels, requestLabels } from './istio-labels.js';
import { IstioSeries } from './istio-series.js';
import type { CounterMetric, CounterSeries, DistributionMetric, DistributionSeries } from './istio-series.js';
import { modeOf, overriddenLabels, telemetryPolicyOf } from './telemetry-policy.js';
import { InputLookup } from './input-lookup.js';
import type { CompiledModeMetrics } from './telemetry-policy.js';
import { boundedAttributes } from './cel-activation.js';
import type { Clock } from '../../clock.js';
import { peerTableOf } from './peer-table.js';
import { certificateGauges } from './certificate-gauges.js';
import type { SpanExportCounts } from './span-export.js';
import type { CertificateLifetime } from './certificate-gauges.js';
import { WeftCounters } from './weft-counters.js';

/** Envoy's default histogram buckets, which Istio's request duration uses (milliseconds). */
export const DURATION_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
/** Istio's size buckets for request and response bodies (bytes). */
export const SIZE_BUCKETS_BYTES = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

/** Istio's stats plugin reports open TCP connections every 15 s unless Telemetry's reportingInterval says otherwise. */
export const DEFAULT_TCP_REPORTING_MS = 15_000;

/** An open TCP connection's series and the bytes already added to them. */
interface OpenTcp {
  series: TcpSeriesSet;
  read: number;
  written: number;
}

/** A safety bound on the input lookup: its keys are bounded by config, so only a bug reaches it. */
const MAX_LOOKUP = 10_000;
/** The inputs a request's series derive from (#requestSeries lists them). */
const SERIES_INPUTS = 16;

/** Names and values: a tag override may remove or add a label, so the names are part of a series' identity. */
function seriesKey(labels: Readonly<Record<string, string>>): string {
  let key = '';
  for (const k in labels) key += `${k}\u0002${labels[k]}\u0001`;
  return key;
}

/** A request's series (undefined: that metric is disabled by Telemetry, or, for messages, not a gRPC call). */
interface RequestSeriesSet {
  count: CounterSeries | undefined;
  duration: DistributionSeries | undefined;
  requestBytes: DistributionSeries | undefined;
  responseBytes: DistributionSeries | undefined;
  requestMessages: CounterSeries | undefined;
  responseMessages: CounterSeries | undefined;
}

interface TcpSeriesSet {
  opened: CounterSeries | undefined;
  closed: CounterSeries | undefined;
  sent: CounterSeries | undefined;
  received: CounterSeries | undefined;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #istio = new IstioSeries(this.registry, DURATION_BUCKETS_MS, SIZE_BUCKETS_BYTES);
  readonly #lookup = new InputLookup<RequestSeriesSet>(MAX_LOOKUP);
  /** The inputs of the request being recorded (reused: a lookup allocates nothing). */
  readonly #inputs: unknown[] = new Array<unknown>(SERIES_INPUTS).fill(undefined);
  readonly #openTcp = new Map<object, OpenTcp>();
  #tcpTimer: NodeJS.Timeout | undefined;
  #lookupConfig: ProxyConfig | undefined;
  readonly #weft: WeftCounters;
  /** What the span exporter reports. */
  readonly spanCounts: SpanExportCounts;
  /**
   * `workload` (`namespace/name`) labels weft's own metrics, as it always has; Istio's carry exactly Istio's labels.
   * `config`: the config in force, whose telemetry section and identity label both ends of a request.
   */
  constructor(
    private readonly workload: string,
    private readonly config: () => ProxyConfig | undefined,
    certificate?: () => CertificateLifetime | undefined,
    /** Times the reports of open TCP connections; without one, their bytes are counted when they close. */
    private readonly clock?: Clock,
  ) {
    this.#weft = new WeftCounters(this.registry, workload, config);
    this.spanCounts = this.#weft.spanCounts;
    if (certificate !== undefined) certificateGauges(this.registry, workload, certificate);
  }

  accessLogDropped(n: number): void {
    this.#weft.accessLogDropped(n);
  }

  /** Stop counting mesh connections (a proxy that stops inside a longer-lived process). */
  close(): void {
    if (this.#tcpTimer !== undefined) clearTimeout(this.#tcpTimer);
    this.#openTcp.clear();
    this.#weft.close();
  }

  /** The mode's metric policy; undefined without a telemetry-policy section (every metric, Istio's labels). */
  #modeMetrics(e: AccessLogEntry, cfg: ProxyConfig): CompiledModeMetrics | undefined {
    return telemetryPolicyOf(cfg)?.metrics[modeOf(e.direction)];
  }

  #counter(metric: CounterMetric, labels: Readonly<Record<string, string>>, policy: CompiledModeMetrics | undefined, act: () => Record<string, unknown>): CounterSeries | undefined {
    const p = policy?.byMetric.get(metric);
    if (p?.disabled === true) return undefined;
    const l = overriddenLabels(labels, p, act);
    return this.#istio.counter(metric, seriesKey(l), l);
  }

  #distribution(metric: DistributionMetric, labels: Readonly<Record<string, string>>, policy: CompiledModeMetrics | undefined, act: () => Record<string, unknown>): DistributionSeries | undefined {
    const p = policy?.byMetric.get(metric);
    if (p?.disabled === true) return undefined;
    const l = overriddenLabels(labels, p, act);
    return this.#istio.distribution(metric, seriesKey(l), l);
  }

  /**
   * The series of a request, found by the few inputs its labels derive from (the caller resolved to a workload
   * first, so nothing a client wrote enters the key); the full label set, and any Telemetry tag override's value, is
   * computed only for a new input combination: a tag reads only bounded attributes, all of them in the key.
   * Labels derive from config, so a new config starts a new lookup table.
   */
  #requestSeries(e: AccessLogEntry, cfg: ProxyConfig, policy: CompiledModeMetrics | undefined): RequestSeriesSet {
    if (cfg !== this.#lookupConfig) {
      this.#lookupConfig = cfg;
      this.#lookup.clear();
    }
    const table = peerTableOf(cfg);
    const caller = e.direction === 'inbound' ? table.peer(e.peer, e.peerWorkload)?.name : undefined;
    const inputs = this.#inputs;
    inputs[0] = e.direction;
    inputs[1] = e.peer;
    inputs[2] = caller;
    inputs[3] = e.upstream;
    inputs[4] = e.upstreamPrincipal;
    inputs[5] = e.destinationService;
    inputs[6] = e.mtls;
    inputs[7] = e.egress?.decision;
    inputs[8] = e.egress?.serviceEntry;
    inputs[9] = e.responseFlags;
    inputs[10] = e.status;
    inputs[11] = e.protocol;
    inputs[12] = e.grpcStatus;
    inputs[13] = e.httpVersion;
    inputs[14] = e.upstreamCluster;
    inputs[15] = e.port;
    let s = this.#lookup.find(inputs);
    if (s === undefined) {
      const labels = requestLabels(e, table);
      const act = (): Record<string, unknown> => boundedAttributes(e, cfg);
      s = {
        count: this.#counter('REQUEST_COUNT', labels, policy, act),
        duration: this.#distribution('REQUEST_DURATION', labels, policy, act),
        requestBytes: this.#distribution('REQUEST_SIZE', labels, policy, act),
        responseBytes: this.#distribution('RESPONSE_SIZE', labels, policy, act),
        // Envoy's gRPC stats filter counts messages of gRPC calls only (`protocol` is in the inputs).
        requestMessages: e.protocol === 'grpc' ? this.#counter('GRPC_REQUEST_MESSAGES', labels, policy, act) : undefined,
        responseMessages: e.protocol === 'grpc' ? this.#counter('GRPC_RESPONSE_MESSAGES', labels, policy, act) : undefined,
      };
      this.#lookup.add(inputs, s);
    }
    return s;
  }

  #tcpSeries(e: AccessLogEntry, cfg: ProxyConfig, policy: CompiledModeMetrics | undefined): TcpSeriesSet {
    const labels = peerLabels(e, peerTableOf(cfg), 'tcp');
    const act = (): Record<string, unknown> => boundedAttributes(e, cfg);
    return {
      opened: this.#counter('TCP_OPENED_CONNECTIONS', labels, policy, act),
      closed: this.#counter('TCP_CLOSED_CONNECTIONS', labels, policy, act),
      sent: this.#counter('TCP_SENT_BYTES', labels, policy, act),
      received: this.#counter('TCP_RECEIVED_BYTES', labels, policy, act),
    };
  }

  /** An opaque TCP connection was established (counted open until its record comes). */
  opened(e: AccessLogEntry): void {
    const cfg = this.config();
    if (!cfg) return;
    const policy = this.#modeMetrics(e, cfg);
    if (policy?.enabled === false) return;
    const series = this.#tcpSeries(e, cfg, policy);
    if (series.opened) series.opened.value++;
    if (e.connection !== undefined && this.clock !== undefined) {
      this.#openTcp.set(e.connection, { series, read: 0, written: 0 });
      this.#armTcpReport(cfg.telemetryPolicy?.reportingIntervalMs ?? DEFAULT_TCP_REPORTING_MS);
    }
  }

  #armTcpReport(ms: number): void {
    if (this.#tcpTimer !== undefined || this.clock === undefined) return;
    this.#tcpTimer = this.clock.setTimeout(() => {
      this.#tcpTimer = undefined;
      this.reportOpenConnections();
      const cfg = this.config();
      if (this.#openTcp.size > 0) this.#armTcpReport(cfg?.telemetryPolicy?.reportingIntervalMs ?? DEFAULT_TCP_REPORTING_MS);
    }, ms);
  }

  /** Adds what open TCP connections carried since the last report (Istio's periodic TCP reporting). */
  reportOpenConnections(): void {
    for (const [conn, open] of this.#openTcp) {
      const c = conn as { bytesRead: number; bytesWritten: number };
      if (open.series.received) open.series.received.value += c.bytesRead - open.read;
      if (open.series.sent) open.series.sent.value += c.bytesWritten - open.written;
      open.read = c.bytesRead;
      open.written = c.bytesWritten;
    }
  }

  record(e: AccessLogEntry): void {
    const cfg = this.config();
    this.#weft.record(e);
    if (!cfg) return;
    const policy = this.#modeMetrics(e, cfg);
    // Telemetry turned Istio's metrics off for this side (no Prometheus provider, or ALL_METRICS disabled).
    if (policy?.enabled === false) return;
    if (e.method === 'TCP' || e.method === 'CONNECT') {
      // Only an established connection was opened; a refused one is in the access log and weft's counters.
      if (e.status !== 200) return;
      const open = e.connection === undefined ? undefined : this.#openTcp.get(e.connection);
      if (open !== undefined) this.#openTcp.delete(e.connection!);
      const s = open?.series ?? this.#tcpSeries(e, cfg, policy);
      if (s.closed) s.closed.value++;
      // What periodic reports already added is not added again.
      if (s.received) s.received.value += (e.requestBytes ?? 0) - (open?.read ?? 0);
      if (s.sent) s.sent.value += (e.responseBytes ?? 0) - (open?.written ?? 0);
      return;
    }
    const s = this.#requestSeries(e, cfg, policy);
    if (s.count) s.count.value++;
    s.duration?.dist.observe(e.durationMs);
    s.requestBytes?.dist.observe(e.requestBytes ?? 0);
    s.responseBytes?.dist.observe(e.responseBytes ?? 0);
    if (s.requestMessages) s.requestMessages.value += e.grpcRequestMessages ?? 0;
    if (s.responseMessages) s.responseMessages.value += e.grpcResponseMessages ?? 0;
  }
}
