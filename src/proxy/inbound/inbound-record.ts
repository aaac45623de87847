/** The access-log record of one inbound request, HTTP/1.1 or HTTP/2: what arrived, from whom, and how it ended. */
import type { IncomingHttpHeaders } from 'node:http';
import type { ProxyRuntime } from '../proxy-runtime.js';
import type { AuthzDecision } from '../../authz/index.js';
import { addAuthzLogFields } from '../security/authz-log.js';
import type { RateLimitVerdict } from '../ratelimit/local-rate-limits.js';
import { PEER_WORKLOAD_HEADER } from '../telemetry/peer-table.js';
import type { Readable } from 'node:stream';
import { addRequestFacts } from '../telemetry/request-facts.js';
import { countBodyBytes } from '../telemetry/body-bytes.js';
import type { BodyBytes } from '../telemetry/body-bytes.js';
import type { AccessLogEntry } from '../telemetry/access-log.js';
import type { HopTrace } from '../telemetry/trace-context.js';

/** What the answer added to the record: its body size, and the gRPC status of a gRPC answer. */
export interface InboundAnswer {
  responseBytes?: number | undefined;
  grpcStatus?: string | undefined;
  /** A gRPC call's messages each way (gRPC calls only). */
  grpcRequestMessages?: number | undefined;
  grpcResponseMessages?: number | undefined;
}

export type InboundFinish = (status: number, reason?: string, decision?: AuthzDecision, answer?: InboundAnswer) => void;

/** What is known of a request when it arrives; `service` is filled in once the app port is known. */
export interface InboundRequestRecord {
  method: string;
  authority: string;
  path: string;
  peer: string | undefined;
  service?: string | undefined;
  /** Set when a LocalRateLimitPolicy refused the request. */
  rateLimit?: RateLimitVerdict | undefined;
  /** The request's headers, read for the log's request facts when it ends. */
  headers: IncomingHttpHeaders;
  /** The caller's workload as its proxy named it (a lookup key only: telemetry checks it against `peer`). */
  peerWorkload?: string | undefined;
  /** The app port, once known. */
  appPort?: number | undefined;
  /** This hop's trace, once the request is on its way to the app. */
  trace?: HopTrace | undefined;
  /** Body bytes received from the caller; undefined for a request without a body. */
  body?: BodyBytes | undefined;
}

/** The record of a request from its headers: the peer's workload name is only read from a verified mTLS caller. */
export function inboundRecord(method: string, authority: string, path: string, peer: string | undefined, headers: IncomingHttpHeaders, body?: Readable): InboundRequestRecord {
  const claimed = peer === undefined ? undefined : headers[PEER_WORKLOAD_HEADER];
  // A namespace and a name (each at most 253 characters); anything longer names no workload.
  const key = typeof claimed === 'string' && claimed.length <= 507 ? claimed : undefined;
  return { method, authority, path, peer, headers, peerWorkload: key, body: body === undefined ? undefined : countBodyBytes(body) };
}

/** An HTTP/1.1 request has a body when it is chunked or declares a length other than 0. */
export function mayHaveBody(h: IncomingHttpHeaders): boolean {
  const len = h['content-length'];
  return h['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

/** A gRPC status is one of 17 codes; anything else an app sends is not a label value. */
function grpcStatusOf(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 16 ? n : undefined;
}

export function inboundFinish(rt: ProxyRuntime, r: InboundRequestRecord): InboundFinish {
  const started = performance.now();
  return (status, reason, decision, answer) => {
    // One literal, then the few optional fields: spreads of small records here cost a copy each per request.
    const entry: AccessLogEntry = {
      direction: 'inbound',
      method: r.method,
      authority: r.authority,
      path: r.path,
      status,
      durationMs: performance.now() - started,
      peer: r.peer,
      destinationService: r.service,
      reason,
      requestBytes: r.body?.bytes ?? 0,
      mtls: r.peer !== undefined,
      peerWorkload: r.peerWorkload,
      responseBytes: answer?.responseBytes,
      grpcStatus: grpcStatusOf(answer?.grpcStatus),
      grpcRequestMessages: answer?.grpcRequestMessages,
      grpcResponseMessages: answer?.grpcResponseMessages,
      trace: r.trace,
      port: r.appPort,
    };
    if (decision !== undefined) addAuthzLogFields(entry, decision);
    if (r.rateLimit) {
      entry.responseFlags = 'RL';
      entry.rateLimit = r.rateLimit;
    }
    addRequestFacts(entry, r.headers);
    rt.telemetry.record(entry);
  };
}
