/**
 * The push stream between the control plane and a proxy: an HTTP/2 request over mTLS whose request body carries
 * the proxy's messages and whose response body carries the control plane's, one JSON document a line.
 * Certificates are signed over plain HTTP/2 requests on the same connection.
 */
export const PUSH_PATHS = {
  /** First certificate: server-authenticated TLS, authorised by a single-use bootstrap token. */
  sign: '/v1/sign',
  /** Renewal: authorised by the proxy's current certificate (mTLS). */
  renew: '/v1/renew',
  stream: '/v1/stream',
} as const;

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
  | { type: 'hello'; node: NodeInfo; certNotAfter: string }
  | { type: 'ack'; version: string }
  | { type: 'nack'; version: string; reason: string }
  | { type: 'cert'; notAfter: string }
  /** A token named a key the proxy does not have: refetch these JWKS documents now. */
  | { type: 'jwks-refresh'; uris: string[] };

export type ControlMessage = { type: 'config'; config: unknown } | { type: 'error'; message: string };

/** Lines longer than this are refused: a config for one proxy is far smaller, and memory is not for attackers. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Split a byte stream into JSON lines, refusing oversize lines. */
export class LineDecoder {
  #buf = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.#buf += chunk.toString();
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      if (line.trim() !== '') this.onLine(line);
    }
    if (this.#buf.length > MAX_LINE_BYTES) throw new RangeError('push stream line too long');
  }
}
