/**
 * The tracing sink of a proxy's telemetry: a finished request whose hop was sampled becomes a span for the collector
 * MeshConfig names. The span is built later, at export (span-export.ts); here it only queues.
 */
import { modeOf, tracingFor } from './telemetry-policy.js';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Resource } from '@opentelemetry/resources';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import type { AccessLogEntry } from './access-log.js';
import { hopSpan } from './hop-span.js';
import { peerTableOf } from './peer-table.js';
import { SpanExportQueue } from './span-export.js';
import type { SpanExportCounts } from './span-export.js';

const resources = new WeakMap<ProxyConfig, Resource>();

/** Istio's OpenTelemetry service name: `<canonical service>.<namespace>`. */
function resourceOf(cfg: ProxyConfig): Resource {
  let r = resources.get(cfg);
  if (r === undefined) {
    const local = peerTableOf(cfg).local;
    r = resourceFromAttributes({ 'service.name': `${local.canonicalService}.${local.namespace}`, 'service.version': local.canonicalRevision, 'k8s.namespace.name': local.namespace, 'k8s.pod.name': local.name });
    resources.set(cfg, r);
  }
  return r;
}

export class HopTracer {
  readonly #queue: SpanExportQueue;

  constructor(
    private readonly config: () => ProxyConfig | undefined,
    counts: SpanExportCounts,
  ) {
    this.#queue = new SpanExportQueue(counts);
  }

  record(e: AccessLogEntry): void {
    const trace = e.trace;
    if (trace === undefined || !trace.sampled) return;
    const cfg = this.config();
    if (!cfg) return;
    const tracing = tracingFor(cfg, modeOf(e.direction));
    // Telemetry's disableSpanReporting: the trace was joined and propagated, no span is sent.
    if (!tracing || tracing.reportSpans === false) return;
    const endMs = Date.now();
    const tags = tracing.fixedTags;
    this.#queue.add(() => hopSpan(e, trace, endMs, resourceOf(cfg), cfg, tracing.maxTagLength, tags), tracing.collector);
  }

  close(): Promise<void> {
    return this.#queue.close();
  }
}
