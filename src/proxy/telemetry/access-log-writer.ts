/**
 * The access log, off the request path: a finished request only queues its entry (with the format in force and the
 * time); entries are formatted and written together when the queue is flushed (LineWriter's window). The queue is
 * bounded: past MAX_QUEUED entries a burst is dropped and counted rather than grown without limit.
 *
 * JSON (weft's default) writes the entry's own fields; MeshConfig `accessLogEncoding: TEXT` writes Envoy's default
 * format, and `accessLogFormat` any format of the operators envoy-format.ts supports. pino is not used: its value is
 * a fast JSON serialiser on the caller's thread, and here serialising is what must leave the request path.
 */
import type { AccessLogConfig } from '../../proxyconfig/telemetry-types.js';
import type { ProxyConfig } from '../../proxyconfig/types.js';
import { ENVOY_DEFAULT_FORMAT, compileFormat, compileJsonFormat, formatJson, formatText } from '../../access-log/envoy-format.js';
import type { LogRecord } from '../../access-log/envoy-format.js';
import type { AccessLogEntry } from './access-log.js';
import { LineWriter } from './line-writer.js';

/** Entries waiting for the next flush; beyond this a burst is dropped (and counted). */
const MAX_QUEUED = 20_000;

export type LineFormat = (entry: AccessLogEntry, endMs: number) => string;

const jsonLine: LineFormat = (entry, endMs) => {
  // The trace id is logged; the hop's span ids and headers are the tracer's.
  const { trace: _trace, ...fields } = entry;
  return `{"time":"${new Date(endMs).toISOString()}","msg":"access",${JSON.stringify(fields).slice(1)}\n`;
};

export function logRecordOf(e: AccessLogEntry, endMs: number): LogRecord {
  const tcp = e.method === 'TCP' || e.method === 'CONNECT';
  return {
    startMs: endMs - e.durationMs,
    method: e.method,
    path: e.path,
    authority: e.authority,
    protocol: tcp ? '' : e.httpVersion ?? 'HTTP/1.1',
    status: e.status,
    responseFlags: e.responseFlags,
    bytesReceived: e.requestBytes ?? 0,
    bytesSent: e.responseBytes ?? 0,
    durationMs: e.durationMs,
    upstreamHost: e.upstreamHost,
    upstreamCluster: e.upstreamCluster,
    userAgent: e.userAgent,
    requestId: e.requestId,
    forwardedFor: e.forwardedFor,
    peer: e.peer,
    upstreamPrincipal: e.upstreamPrincipal,
    traceId: e.traceId,
    reason: e.reason,
  };
}

/** The line format a MeshConfig asks for; throws a coded error for a format envoy-format.ts cannot compile. */
export function lineFormatOf(c: AccessLogConfig | undefined): LineFormat {
  if (c === undefined || (c.encoding === 'JSON' && c.format === '')) return jsonLine;
  if (c.encoding === 'JSON') {
    const f = compileJsonFormat(c.format);
    return (e, end) => `${formatJson(f, logRecordOf(e, end))}\n`;
  }
  const f = compileFormat(c.format === '' ? ENVOY_DEFAULT_FORMAT : c.format);
  return (e, end) => {
    const line = formatText(f, logRecordOf(e, end));
    // Istio ends a custom format's line for it.
    return line.endsWith('\n') ? line : `${line}\n`;
  };
}

const formats = new WeakMap<ProxyConfig, LineFormat>();

function formatFor(cfg: ProxyConfig | undefined): LineFormat {
  if (cfg === undefined) return jsonLine;
  let f = formats.get(cfg);
  if (f === undefined) {
    try {
      f = lineFormatOf(cfg.telemetry?.accessLog);
    } catch {
      // Checked at apply; a format this proxy cannot compile still leaves a log, in JSON.
      f = jsonLine;
    }
    formats.set(cfg, f);
  }
  return f;
}

export class AccessLogWriter {
  #entries: AccessLogEntry[] = [];
  #ends: number[] = [];
  #formats: LineFormat[] = [];
  #dropped = 0;
  readonly #out: LineWriter;

  constructor(
    fd: number,
    private readonly config: () => ProxyConfig | undefined,
    private readonly onDropped: (n: number) => void = () => undefined,
  ) {
    this.#out = new LineWriter(fd, () => this.#drain());
  }

  write(entry: AccessLogEntry): void {
    if (this.#entries.length >= MAX_QUEUED) {
      this.#dropped++;
      return;
    }
    this.#entries.push(entry);
    this.#ends.push(Date.now());
    this.#formats.push(formatFor(this.config()));
    this.#out.wake(this.#entries.length);
  }

  /** Formats what is queued, at flush time, off the request path. */
  #drain(): string {
    let text = '';
    for (let i = 0; i < this.#entries.length; i++) text += this.#formats[i]!(this.#entries[i]!, this.#ends[i]!);
    this.#entries = [];
    this.#ends = [];
    this.#formats = [];
    if (this.#dropped > 0) {
      this.onDropped(this.#dropped);
      this.#dropped = 0;
    }
    return text;
  }
}
