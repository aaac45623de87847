/**
 * JSON in, JSON out, for both HTTP/2 and HTTP/1.1 (node:http2's compat API): a bounded body reader, the
 * response writer, and the one mapping from a thrown error to `{ error: { code, message, detail? } }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { WeftErrorCode } from '../../errors.js';
import { WeftError, isWeftError } from '../../errors.js';

export type ApiRequest = Http2ServerRequest | IncomingMessage;
export type ApiResponse = Http2ServerResponse | ServerResponse;

export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiErrorBody {
  error: { code: WeftErrorCode | 'INTERNAL'; message: string; detail?: Record<string, unknown> };
}

/** The status a code answers with when the error does not name one. */
export function statusForCode(code: WeftErrorCode): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'MESH_NOT_RUNNING':
      return 503;
    default:
      return code.startsWith('CONFIG_') || code.startsWith('TOKEN_') || code.endsWith('_INVALID') ? 400 : 500;
  }
}

function payloadTooLarge(limit: number): WeftError {
  return new WeftError('BAD_REQUEST', `request body is larger than ${limit} bytes`, { status: 413, detail: { limit } });
}

/** Reads the body as JSON: 413 beyond `limit` bytes, 400 for an empty body or with the parser's complaint. */
export async function readJsonBody(req: ApiRequest, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw payloadTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // Stop buffering but keep draining, so the answer still reaches a client that is mid-upload.
      req.resume();
      throw payloadTooLarge(limit);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new WeftError('BAD_REQUEST', 'request body is empty; expected JSON', { status: 400 });
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WeftError('BAD_REQUEST', `request body is not valid JSON: ${(err as Error).message}`, {
      status: 400,
      cause: err,
    });
  }
}

export function sendJson(
  res: ApiResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

/** The status and body for any thrown value; anything uncoded is a 500 that reveals nothing. */
export function errorResponse(err: unknown): { status: number; body: ApiErrorBody } {
  if (!isWeftError(err)) {
    return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
  }
  const body: ApiErrorBody = { error: { code: err.code, message: err.message } };
  if (err.detail !== undefined) body.error.detail = err.detail;
  return { status: err.status ?? statusForCode(err.code), body };
}
