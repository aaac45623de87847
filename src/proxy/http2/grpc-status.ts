/**
 * gRPC's view of a reply the proxy makes itself. Envoy answers a gRPC caller's local reply (RBAC denial, no
 * upstream) with HTTP 200 and the status in `grpc-status`, mapping the HTTP status as gRPC's
 * http-grpc-status-mapping.md does, so a gRPC client reports PERMISSION_DENIED rather than a transport error.
 */

export const GRPC_STATUS = {
  OK: 0,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function grpcStatusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
      return GRPC_STATUS.UNAVAILABLE;
    // The proxy's 504 is always a timeout (route, per-try, or the caller's grpc-timeout): Envoy's router answers a
    // gRPC caller DEADLINE_EXCEEDED for it.
    case 504:
      return GRPC_STATUS.DEADLINE_EXCEEDED;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** A gRPC request is one whose content-type is application/grpc or a subtype (`application/grpc+proto`). */
export function isGrpcRequest(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && contentType.toLowerCase().startsWith('application/grpc');
}

/** `grpc-message` is percent-encoded: '%' and anything outside printable ASCII, as UTF-8 bytes (gRPC's PROTOCOL-HTTP2). */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

/**
 * The status that ends a call whose message broke the size limit (grpc-message-limit.ts): RESOURCE_EXHAUSTED, as a
 * gRPC library answers a message past its max receive size, with the sizes in grpc-message.
 */
export function grpcMessageTooLarge(length: number, limit: number, direction: 'request' | 'response'): { 'grpc-status': string; 'grpc-message': string } {
  return { 'grpc-status': String(GRPC_STATUS.RESOURCE_EXHAUSTED), 'grpc-message': encodeGrpcMessage(`${direction} message larger than max (${length} vs. ${limit})`) };
}
