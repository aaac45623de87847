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

export interface RequestSeries {
  readonly labels: Readonly<Record<string, string>>;
  requests: number;
  readonly duration: Distribution;
  readonly requestBytes: Distribution;
  readonly responseBytes: Distribution;
}

export interface TcpSeries {
  readonly labels: Readonly<Record<string, string>>;
  opened: number;
  closed: number;
  sent: number;
  received: number;
}

/** A custom prom-client metric: name, help, type and values read at scrape time. */
function register(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): void {
  const metric = { name, help, type, aggregator: 'sum', get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }), reset: () => undefined };
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}

function distributionValues(name: string, series: Iterable<RequestSeries>, pick: (s: RequestSeries) => Distribution): MetricValue[] {
  const out: MetricValue[] = [];
  for (const s of series) {
    const d = pick(s);
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

export class IstioSeries {
  readonly #requests = new Map<string, RequestSeries>();
  readonly #tcp = new Map<string, TcpSeries>();

  constructor(registry: Registry, private readonly durationBuckets: readonly number[], private readonly sizeBuckets: readonly number[]) {
    const req = (): IterableIterator<RequestSeries> => this.#requests.values();
    register(registry, 'istio_requests_total', 'Requests handled by this proxy', 'counter', () => [...req()].map((s) => ({ labels: s.labels, value: s.requests })));
    register(registry, 'istio_request_duration_milliseconds', 'Request duration as seen by this proxy', 'histogram', () => distributionValues('istio_request_duration_milliseconds', req(), (s) => s.duration));
    register(registry, 'istio_request_bytes', 'Request body sizes', 'histogram', () => distributionValues('istio_request_bytes', req(), (s) => s.requestBytes));
    register(registry, 'istio_response_bytes', 'Response body sizes', 'histogram', () => distributionValues('istio_response_bytes', req(), (s) => s.responseBytes));
    const tcp = (pick: (s: TcpSeries) => number) => (): MetricValue[] => [...this.#tcp.values()].map((s) => ({ labels: s.labels, value: pick(s) }));
    register(registry, 'istio_tcp_connections_opened_total', 'Opaque TCP connections opened through this proxy', 'counter', tcp((s) => s.opened));
    register(registry, 'istio_tcp_connections_closed_total', 'Opaque TCP connections closed through this proxy', 'counter', tcp((s) => s.closed));
    register(registry, 'istio_tcp_sent_bytes_total', 'Bytes sent back to the connecting side of opaque TCP connections', 'counter', tcp((s) => s.sent));
    register(registry, 'istio_tcp_received_bytes_total', 'Bytes received from the connecting side of opaque TCP connections', 'counter', tcp((s) => s.received));
  }

  /** The series of these labels (values in label order), made on first use. Series are counters: never removed. */
  request(key: string, labels: () => Record<string, string>): RequestSeries {
    let s = this.#requests.get(key);
    if (s === undefined) {
      s = { labels: labels(), requests: 0, duration: new Distribution(this.durationBuckets), requestBytes: new Distribution(this.sizeBuckets), responseBytes: new Distribution(this.sizeBuckets) };
      this.#requests.set(key, s);
    }
    return s;
  }

  tcp(key: string, labels: () => Record<string, string>): TcpSeries {
    let s = this.#tcp.get(key);
    if (s === undefined) {
      s = { labels: labels(), opened: 0, closed: 0, sent: 0, received: 0 };
      this.#tcp.set(key, s);
    }
    return s;
  }
}
