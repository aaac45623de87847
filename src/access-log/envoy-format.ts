/**
 * Envoy's access-log command operators (the subset weft records), compiled once per MeshConfig into a list of
 * literal text and field readers, so a log line is a join and no parsing happens per request. The same parser
 * validates MeshConfig `accessLogFormat` at apply, so an unsupported operator is refused there with its name.
 * Hand-written: no library implements Envoy's format language.
 */
import { WeftError } from '../errors.js';

/** What a formatter reads of one finished request or connection. */
export interface LogRecord {
  startMs: number;
  method: string;
  path: string;
  authority: string;
  protocol: string;
  status: number;
  responseFlags: string | undefined;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamHost: string | undefined;
  upstreamCluster: string | undefined;
  userAgent: string | undefined;
  requestId: string | undefined;
  forwardedFor: string | undefined;
  peer: string | undefined;
  upstreamPrincipal: string | undefined;
  traceId: string | undefined;
  reason: string | undefined;
}

type Value = string | number | undefined;
type Reader = (r: LogRecord) => Value;

/** Request headers a format may name with REQ(); weft records these and no others. */
const REQUEST_HEADERS: Record<string, Reader> = {
  ':method': (r) => r.method,
  ':path': (r) => r.path,
  ':authority': (r) => r.authority,
  host: (r) => r.authority,
  'user-agent': (r) => r.userAgent,
  'x-request-id': (r) => r.requestId,
  'x-forwarded-for': (r) => r.forwardedFor,
  // weft keeps the path as received; Envoy sets this only when it rewrote the path.
  'x-envoy-original-path': () => undefined,
};

/** Response headers: weft sets none that Envoy's default format names, so they print as absent. */
const RESPONSE_HEADERS: ReadonlySet<string> = new Set(['x-envoy-upstream-service-time']);

const OPERATORS: Record<string, Reader> = {
  START_TIME: (r) => new Date(r.startMs).toISOString(),
  PROTOCOL: (r) => r.protocol,
  RESPONSE_CODE: (r) => r.status,
  RESPONSE_FLAGS: (r) => r.responseFlags ?? '-',
  RESPONSE_CODE_DETAILS: (r) => r.reason?.replace(/\s+/g, '_'),
  BYTES_RECEIVED: (r) => r.bytesReceived,
  BYTES_SENT: (r) => r.bytesSent,
  DURATION: (r) => Math.round(r.durationMs),
  UPSTREAM_HOST: (r) => r.upstreamHost,
  UPSTREAM_CLUSTER: (r) => r.upstreamCluster,
  DOWNSTREAM_PEER_URI_SAN: (r) => r.peer,
  UPSTREAM_PEER_URI_SAN: (r) => r.upstreamPrincipal,
  TRACE_ID: (r) => r.traceId,
};

export const SUPPORTED_OPERATORS: readonly string[] = [...Object.keys(OPERATORS), 'REQ(header)', 'REQ(header?alternative)', 'RESP(x-envoy-upstream-service-time)'];

/** Envoy's default access-log format (the TEXT encoding without `accessLogFormat`). */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

const TOKEN = /%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/g;

function headerReader(arg: string, where: string): Reader {
  const [main, alt] = arg.toLowerCase().split('?');
  const read = (h: string | undefined): Reader => {
    const r = h === undefined ? undefined : REQUEST_HEADERS[h];
    if (r === undefined) throw new WeftError('CONFIG_INVALID', `${where}: REQ(${h ?? ''}) is not a header weft records (${Object.keys(REQUEST_HEADERS).join(', ')})`);
    return r;
  };
  const first = read(main);
  if (alt === undefined) return first;
  const second = read(alt);
  return (r) => first(r) ?? second(r);
}

function readerOf(name: string, arg: string | undefined, where: string): Reader {
  if (name === 'REQ') {
    if (arg === undefined) throw new WeftError('CONFIG_INVALID', `${where}: REQ needs a header, e.g. %REQ(USER-AGENT)%`);
    return headerReader(arg, where);
  }
  if (name === 'RESP') {
    if (arg === undefined || !RESPONSE_HEADERS.has(arg.toLowerCase())) throw new WeftError('CONFIG_INVALID', `${where}: RESP(${arg ?? ''}) is not supported`);
    return () => undefined;
  }
  const op = OPERATORS[name];
  if (op === undefined || arg !== undefined) {
    throw new WeftError('CONFIG_INVALID', `${where}: %${name}${arg === undefined ? '' : `(${arg})`}% is not an operator weft supports (${SUPPORTED_OPERATORS.join(', ')})`);
  }
  return op;
}

/** One compiled format string: literal text and readers, in order; `single` when it is exactly one operator. */
export interface CompiledFormat {
  parts: ReadonlyArray<string | Reader>;
  single: Reader | undefined;
}

export function compileFormat(format: string, where = 'accessLogFormat'): CompiledFormat {
  const parts: Array<string | Reader> = [];
  let last = 0;
  for (const m of format.matchAll(TOKEN)) {
    if (m.index > last) parts.push(format.slice(last, m.index));
    const read = readerOf(m[1]!, m[2], where);
    const max = m[3] === undefined ? undefined : Number(m[3]);
    parts.push(max === undefined ? read : (r) => truncate(read(r), max));
    last = m.index + m[0].length;
  }
  if (last < format.length) parts.push(format.slice(last));
  const only = parts.length === 1 ? parts[0] : undefined;
  return { parts, single: typeof only === 'function' ? only : undefined };
}

function truncate(v: Value, max: number): Value {
  return typeof v === 'string' && v.length > max ? v.slice(0, max) : v;
}

/** Envoy prints an absent value as `-`. */
export function formatText(f: CompiledFormat, r: LogRecord): string {
  let out = '';
  for (const p of f.parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = p(r);
      out += v === undefined || v === '' ? '-' : String(v);
    }
  }
  return out;
}

/** A JSON format: an object of keys to format strings (Istio's JSON `accessLogFormat`). */
export type CompiledJsonFormat = ReadonlyArray<[key: string, format: CompiledFormat]>;

export function compileJsonFormat(format: string, where = 'accessLogFormat'): CompiledJsonFormat {
  let obj: unknown;
  try {
    obj = JSON.parse(format);
  } catch (err) {
    throw new WeftError('CONFIG_INVALID', `${where}: with accessLogEncoding JSON the format is a JSON object of keys to operators: ${(err as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new WeftError('CONFIG_INVALID', `${where}: with accessLogEncoding JSON the format is a JSON object`);
  return Object.entries(obj).map(([k, v]) => {
    if (typeof v !== 'string') throw new WeftError('CONFIG_INVALID', `${where}.${k}: must be a string of operators`);
    return [k, compileFormat(v, `${where}.${k}`)];
  });
}

/** As Envoy's JSON formatter: a value that is one operator keeps its type (numbers stay numbers), absent is null. */
export function formatJson(f: CompiledJsonFormat, r: LogRecord): string {
  const out: Record<string, Value | null> = {};
  for (const [k, fmt] of f) out[k] = fmt.single ? (fmt.single(r) ?? null) : formatText(fmt, r);
  return JSON.stringify(out);
}
