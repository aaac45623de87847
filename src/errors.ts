/**
 * The one error type of weft. Every failure that crosses a module boundary is a WeftError with a stable
 * `code`, so callers `switch (err.code)` instead of matching messages; `status` is the HTTP status the
 * API or proxy answers with where one applies. Misuse by a caller (a bug) stays a TypeError.
 */
export type WeftErrorCode =
  // config: hostile or mistaken user input
  | 'CONFIG_INVALID'
  | 'CONFIG_UNKNOWN_KIND'
  | 'CONFIG_PARSE'
  | 'CONFIG_READ'
  // identity
  | 'SPIFFE_ID_INVALID'
  | 'CSR_INVALID'
  | 'CSR_IDENTITY_MISMATCH'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_REPLAYED'
  | 'TOKEN_IDENTITY_MISMATCH'
  | 'CA_INVALID'
  | 'CERT_INVALID'
  // control plane
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'BAD_REQUEST'
  | 'ADMISSION_REFUSED'
  | 'STORE'
  /** etcd over TLS: a member's certificate does not verify, a scheme does not match the member, a client certificate is refused. */
  | 'STORE_TLS'
  | 'MESH_NOT_RUNNING'
  // history and audit: a revision retention removed; an audit chain or signed head that does not verify
  | 'HISTORY_PRUNED'
  | 'INPUTS_UNRECORDED'
  | 'AUDIT_INVALID'
  // push stream: a peer sent a line the protocol refuses (oversize, not UTF-8)
  | 'PUSH_FRAME_INVALID'
  // local mesh: pods in network namespaces
  | 'NETNS_UNAVAILABLE'
  | 'NETNS_COMMAND_FAILED'
  | 'NETNS_CONFLICT'
  | 'NETNS_NO_POD_SUBNET'
  // local mesh: starting it
  | 'PRIVILEGE_DROP_UNAVAILABLE'
  | 'PORT_IN_USE'
  | 'MESH_NOT_CONVERGED'
  // proxy
  | 'PROXY_CONFIG_REJECTED'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_RESET'
  | 'UPSTREAM_PING_TIMEOUT'
  | 'NO_ROUTE'
  | 'NO_HEALTHY_UPSTREAM'
  | 'PEER_IDENTITY_MISMATCH'
  /** DestinationRule tls SIMPLE/MUTUAL: the handshake failed, the server's chain or name did not verify, or a file is missing. */
  | 'TLS_ORIGINATION_FAILED';

export interface WeftErrorOptions {
  status?: number;
  cause?: unknown;
  /** Structured detail for machines (file, line, field path, ...). */
  detail?: Record<string, unknown>;
}

export class WeftError extends Error {
  override readonly name = 'WeftError';
  readonly code: WeftErrorCode;
  readonly status: number | undefined;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: WeftErrorCode, message: string, options: WeftErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.detail = options.detail;
  }
}

export function isWeftError(err: unknown, code?: WeftErrorCode): err is WeftError {
  return err instanceof WeftError && (code === undefined || err.code === code);
}
