/**
 * Istio's standard metrics kept as plain numbers per series and handed to prom-client's registry only when it is
 * scraped. prom-client's own children validate and hash every label on every observation: with Istio's 25 labels
 * and four metrics per request that cost tens of microseconds per request. Here a request finds its series once by
 * a key of its label values and adds to a few numbers.
 */
import type { Registry } from 'prom-client';

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

class Distribution {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

/** One series of a counter. */
export interface CounterSeries {
  readonly labels: Readonly<Record<string, string>>;
  value: number;
}

/** One series of a histogram. */
export interface DistributionSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly dist: Distribution;
}

export type CounterMetric =
  | 'REQUEST_COUNT'
  | 'TCP_OPENED_CONNECTIONS'
  | 'TCP_CLOSED_CONNECTIONS'
  | 'TCP_SENT_BYTES'
  | 'TCP_RECEIVED_BYTES'
  | 'GRPC_REQUEST_MESSAGES'
  | 'GRPC_RESPONSE_MESSAGES';
export type DistributionMetric = 'REQUEST_DURATION' | 'REQUEST_SIZE' | 'RESPONSE_SIZE';

/** A custom prom-client metric: name, help, type and values read at scrape time. */
function register(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): void {
  const metric = { name, help, type, aggregator: 'sum', get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }), reset: () => undefined };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

function distributionValues(name: string, series: Iterable<DistributionSeries>): MetricValue[] {
  const out: MetricValue[] = [];
  for (const s of series) {
    const d = s.dist;
    let cumulative = 0;
    for (let i = 0; i < d.bounds.length; i++) {
      cumulative += d.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { le: d.bounds[i]!, ...s.labels }, value: cumulative });
    }
    out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...s.labels }, value: d.count });
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: d.sum });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: d.count });
  }
  return out;
}

/** Istio's metric classes (Telemetry's names) and their Prometheus names. */
const COUNTERS: Readonly<Record<CounterMetric, [name: string, help: string]>> = {
  REQUEST_COUNT: ['istio_requests_total', 'Requests handled by this proxy'],
  TCP_OPENED_CONNECTIONS: ['istio_tcp_connections_opened_total', 'Opaque TCP connections opened through this proxy'],
  TCP_CLOSED_CONNECTIONS: ['istio_tcp_connections_closed_total', 'Opaque TCP connections closed through this proxy'],
  TCP_SENT_BYTES: ['istio_tcp_sent_bytes_total', 'Bytes sent back to the connecting side of opaque TCP connections'],
  TCP_RECEIVED_BYTES: ['istio_tcp_received_bytes_total', 'Bytes received from the connecting side of opaque TCP connections'],
  GRPC_REQUEST_MESSAGES: ['istio_request_messages_total', 'gRPC messages sent by the client of a gRPC call'],
  GRPC_RESPONSE_MESSAGES: ['istio_response_messages_total', 'gRPC messages sent by the server of a gRPC call'],
};
const DISTRIBUTIONS: Readonly<Record<DistributionMetric, [name: string, help: string]>> = {
  REQUEST_DURATION: ['istio_request_duration_milliseconds', 'Request duration as seen by this proxy'],
  REQUEST_SIZE: ['istio_request_bytes', 'Request body sizes'],
  RESPONSE_SIZE: ['istio_response_bytes', 'Response body sizes'],
};

export class IstioSeries {
  readonly #counters = new Map<CounterMetric, Map<string, CounterSeries>>();
  readonly #distributions = new Map<DistributionMetric, Map<string, DistributionSeries>>();

  constructor(registry: Registry, private readonly durationBuckets: readonly number[], private readonly sizeBuckets: readonly number[]) {
    // Istio's order: requests, duration, sizes, then TCP, then gRPC messages.
    const counter = (m: CounterMetric): void => {
      const series = new Map<string, CounterSeries>();
      this.#counters.set(m, series);
      const [name, help] = COUNTERS[m];
      register(registry, name, help, 'counter', () => [...series.values()].map((s) => ({ labels: s.labels, value: s.value })));
    };
    const distribution = (m: DistributionMetric): void => {
      const series = new Map<string, DistributionSeries>();
      this.#distributions.set(m, series);
      const [name, help] = DISTRIBUTIONS[m];
      register(registry, name, help, 'histogram', () => distributionValues(name, series.values()));
    };
    counter('REQUEST_COUNT');
    distribution('REQUEST_DURATION');
    distribution('REQUEST_SIZE');
    distribution('RESPONSE_SIZE');
    counter('TCP_OPENED_CONNECTIONS');
    counter('TCP_CLOSED_CONNECTIONS');
    counter('TCP_SENT_BYTES');
    counter('TCP_RECEIVED_BYTES');
    counter('GRPC_REQUEST_MESSAGES');
    counter('GRPC_RESPONSE_MESSAGES');
  }

  /** The series of these labels (`key`: the labels' names and values), made on first use. Series are never removed. */
  counter(metric: CounterMetric, key: string, labels: Readonly<Record<string, string>>): CounterSeries {
    const m = this.#counters.get(metric)!;
    let s = m.get(key);
    if (s === undefined) {
      s = { labels, value: 0 };
      m.set(key, s);
    }
    return s;
  }

  distribution(metric: DistributionMetric, key: string, labels: Readonly<Record<string, string>>): DistributionSeries {
    const m = this.#distributions.get(metric)!;
    let s = m.get(key);
    if (s === undefined) {
      s = { labels, dist: new Distribution(metric === 'REQUEST_DURATION' ? this.durationBuckets : this.sizeBuckets) };
      m.set(key, s);
    }
    return s;
  }
}
