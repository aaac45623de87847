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
import { jsonAccessLine } from './json-access-line.js';
import type { PolicyAccessLogProvider } from '../../proxyconfig/telemetry-policy-types.js';
import { compileCel } from '../../telemetry-expr/cel-program.js';
import { filterAttributes } from './cel-activation.js';
import { modeOf } from './telemetry-policy.js';
import type { PolicyMode } from './telemetry-policy.js';

/** Entries waiting for the next flush; beyond this a burst is dropped (and counted). */
const MAX_QUEUED = 20_000;

export type LineFormat = (entry: AccessLogEntry, endMs: number) => string;

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
  if (c === undefined || (c.encoding === 'JSON' && c.format === '')) return jsonAccessLine;
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

function safeLineFormat(c: AccessLogConfig | undefined): LineFormat {
  try {
    return lineFormatOf(c);
  } catch {
    // Checked at apply; a format this proxy cannot compile still leaves a log, in JSON.
    return jsonAccessLine;
  }
}

/**
 * Telemetry's access-log providers for one workload mode as one line format: a line per provider whose filter (a
 * CEL program compiled here, once per config) holds, evaluated when the queue is flushed, off the request path. A
 * filter that fails to evaluate (an attribute the request lacks) writes nothing, as Envoy's does.
 */
function providersFormat(cfg: ProxyConfig, providers: readonly PolicyAccessLogProvider[]): LineFormat | null {
  if (providers.length === 0) return null;
  const compiled = providers.map((p) => ({ format: safeLineFormat({ encoding: p.encoding, format: p.format }), filter: p.filter === undefined ? undefined : compileCel(p.filter) }));
  return (e, end) => {
    let text = '';
    for (const c of compiled) {
      if (c.filter !== undefined && c.filter(filterAttributes(e, cfg)) !== true) continue;
      text += c.format(e, end);
    }
    return text;
  };
}

interface ConfigFormats {
  client: LineFormat | null;
  server: LineFormat | null;
}

const formats = new WeakMap<ProxyConfig, ConfigFormats>();

/** The line format of an entry of this mode; null when Telemetry turned this side's access log off. */
function formatFor(cfg: ProxyConfig | undefined, mode: PolicyMode): LineFormat | null {
  if (cfg === undefined) return jsonAccessLine;
  let f = formats.get(cfg);
  if (f === undefined) {
    const mesh = safeLineFormat(cfg.telemetry?.accessLog);
    const p = cfg.telemetryPolicy;
    // A mode with no Telemetry access-log settings (null) keeps MeshConfig's access log.
    f = {
      client: p?.client.accessLog == null ? mesh : providersFormat(cfg, p.client.accessLog),
      server: p?.server.accessLog == null ? mesh : providersFormat(cfg, p.server.accessLog),
    };
    formats.set(cfg, f);
  }
  return f[mode];
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
    const format = formatFor(this.config(), modeOf(entry.direction));
    if (format === null) return;
    this.#entries.push(entry);
    this.#ends.push(Date.now());
    this.#formats.push(format);
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
