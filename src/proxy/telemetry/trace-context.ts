/**
 * Joining or starting a trace at one hop, as Envoy does for Istio: the caller's context is read from W3C
 * `traceparent`/`tracestate`, else B3 (multi-header `x-b3-*`, or single-header `b3`); this hop gets a span id of its
 * own; the sampling decision is the caller's when it made one, forced by `x-client-trace-id`, else drawn against
 * MeshConfig's percentage. Headers with this hop's context replace the caller's on the way on (W3C always; B3 too
 * when the caller spoke B3), so the app and the next hop see this hop as the parent.
 * Hand-written: the OpenTelemetry B3 propagator is not a dependency, and these parsers are a few lines each.
 */
import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TracingConfig } from '../../proxyconfig/telemetry-types.js';

export interface HopTrace {
  traceId: string;
  spanId: string;
  /** The caller's span, when it sent a context. */
  parentSpanId: string | undefined;
  sampled: boolean;
  tracestate: string | undefined;
  /** The headers that carry this hop's context on, flat [name, value, ...]. */
  headers: string[];
  /** Telemetry `customTags` read from the request's headers at its start, flat [tag, value, ...]. */
  headerTags?: string[];
}

/** What startHop reads of a Telemetry's tracing beyond the mesh's (telemetry-policy-types.ts). */
export interface HopSampling {
  useRequestIdForSampling?: boolean;
  customTags?: readonly { tag: string; header?: { name: string; defaultValue: string } }[];
}

/**
 * Envoy's request-id sampling: the request id's first 32 bits modulo 10000 against the percentage in hundredths,
 * so every hop that sees the same x-request-id makes the same decision. Undefined for an id that is not hex.
 */
export function requestIdSampled(requestId: string | undefined, percent: number): boolean | undefined {
  if (requestId === undefined || requestId.length < 8) return undefined;
  const n = Number.parseInt(requestId.slice(0, 8), 16);
  if (!Number.isFinite(n) || !/^[0-9a-fA-F]{8}$/.test(requestId.slice(0, 8))) return undefined;
  return n % 10000 < Math.round(percent * 100);
}

/** Every header a caller's trace context may arrive in; the proxy replaces them with its own. */
export const TRACE_HEADERS: readonly string[] = ['traceparent', 'tracestate', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'];

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
/** The longest tracestate carried on (W3C allows 32 members of at most 256 characters). */
const MAX_TRACESTATE = 512;

interface Incoming {
  traceId: string;
  spanId: string;
  sampled: boolean | undefined;
  tracestate: string | undefined;
  b3: 'multi' | 'single' | undefined;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** W3C Trace Context §3.2: `version-traceid-parentid-flags`, lower-case hex, neither id all zeros. */
export function parseTraceparent(v: string | undefined): { traceId: string; spanId: string; sampled: boolean } | undefined {
  if (v === undefined || v.length < 55) return undefined;
  const [version, traceId, spanId, flags] = v.trim().split('-');
  if (version === undefined || !/^[0-9a-f]{2}$/.test(version) || version === 'ff') return undefined;
  if (traceId === undefined || spanId === undefined || flags === undefined || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  if (!HEX32.test(traceId) || traceId === ZERO32 || !HEX16.test(spanId) || spanId === ZERO16) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** B3 trace ids may be 64 bits; W3C's are 128, left-padded with zeros. */
function b3TraceId(v: string | undefined): string | undefined {
  const id = v?.toLowerCase();
  if (id !== undefined && HEX16.test(id)) return id === ZERO16 ? undefined : `${ZERO16}${id}`;
  return id !== undefined && HEX32.test(id) && id !== ZERO32 ? id : undefined;
}

function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === '1' || v === 'd' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

/** `b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or a bare sampling state. */
export function parseB3Single(v: string | undefined): Incoming | undefined {
  if (v === undefined) return undefined;
  const [t, s, sampled] = v.trim().split('-');
  const traceId = b3TraceId(t);
  const spanId = s?.toLowerCase();
  if (traceId === undefined || spanId === undefined || !HEX16.test(spanId)) return undefined;
  return { traceId, spanId, sampled: b3Sampled(sampled), tracestate: undefined, b3: 'single' };
}

export function parseB3Multi(h: IncomingHttpHeaders): Incoming | undefined {
  const traceId = b3TraceId(one(h['x-b3-traceid']));
  const spanId = one(h['x-b3-spanid'])?.toLowerCase();
  if (traceId === undefined || spanId === undefined || !HEX16.test(spanId)) return undefined;
  const sampled = one(h['x-b3-flags']) === '1' ? true : b3Sampled(one(h['x-b3-sampled']));
  return { traceId, spanId, sampled, tracestate: undefined, b3: 'multi' };
}

export function incomingContext(h: IncomingHttpHeaders): Incoming | undefined {
  const w3c = parseTraceparent(one(h['traceparent']));
  if (w3c) {
    const ts = one(h['tracestate']);
    return { ...w3c, tracestate: ts !== undefined && ts.length <= MAX_TRACESTATE ? ts : undefined, b3: undefined };
  }
  return parseB3Single(one(h['b3'])) ?? parseB3Multi(h);
}

const ids = Buffer.alloc(24);

function randomIds(): [traceId: string, spanId: string] {
  randomFillSync(ids);
  return [ids.toString('hex', 0, 16), ids.toString('hex', 16, 24)];
}

/** This hop's trace, or undefined when tracing is off. `random` is uniform in [0, 1). */
export function startHop(tracing: (TracingConfig & HopSampling) | undefined | null, h: IncomingHttpHeaders, random: () => number): HopTrace | undefined {
  if (tracing === undefined || tracing === null) return undefined;
  const incoming = incomingContext(h);
  const [newTrace, spanId] = randomIds();
  const traceId = incoming?.traceId ?? newTrace;
  // Envoy: a caller's decision stands; x-client-trace-id forces a trace; otherwise the percentage, decided by the
  // request id when Telemetry's useRequestIdForTraceSampling holds (its default) and the request has one.
  const byId = tracing.useRequestIdForSampling === true ? requestIdSampled(one(h['x-request-id']), tracing.samplingPercent) : undefined;
  const sampled = incoming?.sampled ?? (h['x-client-trace-id'] !== undefined || (byId ?? random() * 100 < tracing.samplingPercent));
  const headers = ['traceparent', `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`];
  if (incoming?.tracestate !== undefined) headers.push('tracestate', incoming.tracestate);
  if (incoming?.b3 === 'single') headers.push('b3', `${traceId}-${spanId}-${sampled ? '1' : '0'}-${incoming.spanId}`);
  if (incoming?.b3 === 'multi') headers.push('x-b3-traceid', traceId, 'x-b3-spanid', spanId, 'x-b3-parentspanid', incoming.spanId, 'x-b3-sampled', sampled ? '1' : '0');
  const hop: HopTrace = { traceId, spanId, parentSpanId: incoming?.spanId, sampled, tracestate: incoming?.tracestate, headers };
  if (sampled && tracing.customTags !== undefined && tracing.customTags.length > 0) {
    const tags: string[] = [];
    for (const t of tracing.customTags) {
      if (t.header === undefined) continue;
      const v = one(h[t.header.name]) ?? t.header.defaultValue;
      tags.push(t.tag, v.length > tracing.maxTagLength ? v.slice(0, tracing.maxTagLength) : v);
    }
    hop.headerTags = tags;
  }
  return hop;
}
