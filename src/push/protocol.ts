/**
 * The push stream between the control plane and a proxy: a TLS connection with client certificates on both sides,
 * negotiated with the ALPN id PUSH_ALPN on the control plane's one listener, each side writing one JSON document a
 * line. Certificates are signed over HTTP/2 requests on the same listener (ALPN `h2`), in connections that last
 * one request.
 */
import { WeftError } from '../errors.js';
import type { ProxyRuntimeReport } from './runtime-report.js';
import type { ConfigDelta } from './config-delta.js';

export const PUSH_PATHS = {
  /** First certificate: server-authenticated TLS, authorised by a single-use bootstrap token. */
  sign: '/v1/sign',
  /** Renewal: authorised by the proxy's current certificate (mTLS). */
  renew: '/v1/renew',
} as const;

/** The ALPN protocol id of the push stream; `h2` and `http/1.1` on the same listener go to the API and signing. */
export const PUSH_ALPN = 'weft-push/1';

/** How often a proxy pings on its stream; a stream that has heard nothing since the ping before is dead. */
export const PUSH_PING_INTERVAL_MS = 10_000;

/** The identity of the control plane's own serving certificate, which proxies verify instead of a host name. */
export const CONTROL_PLANE_SERVICE_ACCOUNT = 'weft-control';

export interface NodeInfo {
  role: 'sidecar' | 'gateway';
  namespace: string;
  name: string;
  podIP: string;
  /** Gateways only: the labels a Gateway's selector matches. Sidecars get theirs from the Workload. */
  labels?: Record<string, string>;
}

export interface SignRequest {
  csr: string;
  namespace: string;
  serviceAccount: string;
  workload: string;
}

export interface SignResponse {
  certChain: string[];
  trustBundle: string[];
}

export type ProxyMessage =
  /** `accepts` names optional messages the proxy understands (`config-delta`); absent, it is sent full configs only. */
  | { type: 'hello'; node: NodeInfo; certNotAfter: string; accepts?: string[] }
  | { type: 'ack'; version: string }
  | { type: 'nack'; version: string; reason: string }
  | { type: 'cert'; notAfter: string }
  /** A delta came against a version this proxy does not hold (`have`, null for none): send the whole config. */
  | { type: 'resync'; have: string | null; reason: string }
  /** A token named a key the proxy does not have: refetch these JWKS documents now. */
  | { type: 'jwks-refresh'; uris: string[] }
  /** The answer to a `report-runtime` request with the same id. */
  | { type: 'runtime'; id: string; report: ProxyRuntimeReport }
  | { type: 'runtime'; id: string; error: string }
  /** Liveness: answered by a `pong`, after whatever the control plane is writing. */
  | { type: 'ping' };

export type ControlMessage =
  | { type: 'config'; config: unknown }
  /** What changed since the version `base` (config-delta.ts); only to proxies whose hello accepts it. */
  | ConfigDelta
  | { type: 'error'; message: string }
  /** Asks the proxy for its runtime state (endpoint health, certificate metadata), answered by a `runtime` message. */
  | { type: 'report-runtime'; id: string }
  /** The answer to a `ping`. */
  | { type: 'pong' };

/** The longest line a proxy receives: a config for one proxy is far smaller, and memory is not for attackers. */
export const MAX_CONTROL_MESSAGE_BYTES = 64 * 1024 * 1024;
/** The longest line the control plane receives: hello, ACK, NACK and the like are small. */
export const MAX_PROXY_MESSAGE_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;
// fatal: a line that is not UTF-8 is refused rather than read with replacement characters.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits a byte stream into JSON lines. Lines are cut on the newline byte and each whole line is decoded at once:
 * 0x0a never occurs inside a multi-byte UTF-8 sequence, so a character split across chunks is never cut, and the
 * size bound counts bytes. A line over `maxLineBytes` (counted before its end arrives) or not UTF-8 is a
 * PUSH_FRAME_INVALID error; the stream that sent it is to be closed.
 */
export class LineDecoder {
  #parts: Uint8Array[] = [];
  #size = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf(NEWLINE, start)) >= 0) {
      this.#take(chunk.subarray(start, nl));
      start = nl + 1;
      const line = this.#decodeLine();
      if (line.trim() !== '') this.onLine(line);
    }
    this.#take(chunk.subarray(start));
  }

  #take(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#size += bytes.length;
    if (this.#size > this.maxLineBytes) {
      this.#parts = [];
      this.#size = 0;
      throw new WeftError('PUSH_FRAME_INVALID', `push stream line longer than ${this.maxLineBytes} bytes`, {
        detail: { limit: this.maxLineBytes },
      });
    }
    this.#parts.push(bytes);
  }

  #decodeLine(): string {
    const bytes = this.#parts.length === 1 ? (this.#parts[0] as Uint8Array) : Buffer.concat(this.#parts, this.#size);
    this.#parts = [];
    this.#size = 0;
    try {
      return utf8.decode(bytes);
    } catch (err) {
      throw new WeftError('PUSH_FRAME_INVALID', 'push stream line is not valid UTF-8', { cause: err });
    }
  }
}
