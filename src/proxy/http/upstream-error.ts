/**
 * The one rescue function: how an upstream failure becomes a status and a reason, Envoy-style. Connection failures
 * (refused, TLS handshake, wrong peer identity, connect timeout) and resets before a response mean the upstream is
 * unavailable (503); a response that never came in time is 504; a response that is not valid HTTP is 502.
 */
import { isWeftError } from '../../errors.js';

export interface UpstreamFailure {
  status: 502 | 503 | 504;
  reason: string;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function upstreamFailure(err: unknown): UpstreamFailure {
  if (isWeftError(err, 'PEER_IDENTITY_MISMATCH') || isWeftError(err, 'UPSTREAM_UNREACHABLE') || isWeftError(err, 'TLS_ORIGINATION_FAILED')) {
    return { status: 503, reason: `upstream connect error: ${err.message}` };
  }
  const code = (err as { code?: string } | null)?.code ?? '';
  if (TIMEOUT_CODES.has(code)) return { status: 504, reason: 'upstream request timeout' };
  if (code === 'UND_ERR_INFO' || code.startsWith('HPE_')) return { status: 502, reason: `invalid upstream response (${code})` };
  return {
    status: 503,
    reason: `upstream connect error or disconnect/reset before headers. reset reason: ${code || (err as Error | null)?.message || 'unknown'}`,
  };
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** True when the upstream connection was never made (Envoy's `UF`): refused, timed out, TLS or identity failed. */
export function isConnectFailure(err: unknown): boolean {
  if (isWeftError(err, 'PEER_IDENTITY_MISMATCH') || isWeftError(err, 'UPSTREAM_UNREACHABLE') || isWeftError(err, 'TLS_ORIGINATION_FAILED')) return true;
  return CONNECT_CODES.has((err as { code?: string } | null)?.code ?? '');
}
