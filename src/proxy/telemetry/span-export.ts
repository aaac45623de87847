/**
 * Spans leave the proxy off the request path: a finished request's span is queued; a batch goes to the collector
 * over OTLP/HTTP (protobuf, the OpenTelemetry SDK's exporter) when MAX_BATCH have gathered or every FLUSH_MS, one
 * export at a time. The queue is bounded: while the collector is slow or gone, spans beyond MAX_QUEUED are dropped
 * and counted, never buffered without limit. A new collector in config gets a new exporter; the old one is shut down.
 *
 * weft queues spans itself rather than using the SDK's BatchSpanProcessor because spans are built after the fact
 * (hop-span.ts) and drops must be counted; the exporter, serialisation and retry are the SDK's.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../../proxyconfig/telemetry-types.js';

/** A finished hop waiting to be built into a span: building happens at flush, off the request path. */
export type PendingSpan = () => ReadableSpan;

const MAX_QUEUED = 2048;
const MAX_BATCH = 512;
const FLUSH_MS = 1000;
const EXPORT_TIMEOUT_MS = 10_000;

export interface SpanExportCounts {
  exported(n: number): void;
  dropped(n: number, reason: 'queue_full' | 'export_failed'): void;
}

export class SpanExportQueue {
  #queue: PendingSpan[] = [];
  #exporter: OTLPTraceExporter | undefined;
  #url = '';
  /** The export in flight, settled with whether it succeeded. */
  #exporting: Promise<boolean> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(private readonly counts: SpanExportCounts) {}

  add(span: PendingSpan, collector: TracingConfig['collector']): void {
    const host = collector.host.includes(':') ? `[${collector.host}]` : collector.host;
    const url = `http://${host}:${collector.port}${collector.path}`;
    if (url !== this.#url) this.#use(url);
    if (this.#queue.length >= MAX_QUEUED) {
      this.counts.dropped(1, 'queue_full');
      return;
    }
    this.#queue.push(span);
    if (this.#closing) return;
    if (this.#queue.length >= MAX_BATCH) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), FLUSH_MS).unref();
  }

  #use(url: string): void {
    void this.#exporter?.shutdown();
    this.#url = url;
    this.#exporter = new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS });
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#exporting !== undefined || this.#queue.length === 0 || !this.#exporter) return;
    const batch = this.#queue.splice(0, MAX_BATCH).map((build) => build());
    this.#exporting = new Promise<boolean>((resolve) =>
      this.#exporter!.export(batch, (result) => {
        this.#exporting = undefined;
        const ok = result.code === ExportResultCode.SUCCESS;
        if (ok) this.counts.exported(batch.length);
        else this.counts.dropped(batch.length, 'export_failed');
        if (this.#queue.length > 0 && !this.#closing) this.#timer ??= setTimeout(() => this.#flush(), this.#queue.length >= MAX_BATCH ? 0 : FLUSH_MS).unref();
        resolve(ok);
      }),
    );
  }

  /**
   * A proxy shutting down: the export in flight finishes, then what is queued goes, a batch at a time. Once a batch
   * fails (the collector is gone) the rest is dropped and counted, so a shutdown waits one export timeout at most
   * past the one in flight, not one per batch.
   */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let ok = (await this.#exporting) ?? true;
    while (ok && this.#queue.length > 0 && this.#exporter) {
      this.#flush();
      ok = (await this.#exporting) ?? true;
    }
    if (this.#queue.length > 0) {
      this.counts.dropped(this.#queue.length, 'export_failed');
      this.#queue = [];
    }
    await this.#exporter?.shutdown();
  }
}
