/**
 * How a failed verb reads: the control plane's error answers turned back into the WeftError the server raised, and
 * the one line a person reads on stderr, in kubectl's wording where kubectl has one; then exit status 1.
 */
import type { WeftErrorCode } from '../errors.js';
import { WeftError, isWeftError } from '../errors.js';

/** Errors the control plane answered with, as opposed to those found on this side (e.g. a bad local file). */
const fromServer = new WeakSet<WeftError>();

/** The API's `{ error: { code, message, detail } }` as the WeftError the server raised. */
export function apiError(status: number, body: unknown): WeftError {
  const e = (body as { error?: { code?: unknown; message?: unknown; detail?: unknown } } | null)?.error;
  const message = typeof e?.message === 'string' ? e.message : `the control plane answered ${status}`;
  const known = typeof e?.code === 'string' && e.code !== 'INTERNAL';
  const code = (known ? e.code : 'STORE') as WeftErrorCode;
  const detail = typeof e?.detail === 'object' && e.detail !== null ? (e.detail as Record<string, unknown>) : undefined;
  const err = new WeftError(code, message, detail === undefined ? { status } : { status, detail });
  fromServer.add(err);
  return err;
}

/** kubectl's reason words for the server's answers. */
const SERVER_REASON: Partial<Record<WeftErrorCode, string>> = {
  NOT_FOUND: 'NotFound',
  FORBIDDEN: 'Forbidden',
  UNAUTHENTICATED: 'Unauthorized',
  CONFLICT: 'Conflict',
  BAD_REQUEST: 'BadRequest',
  CONFIG_INVALID: 'Invalid',
  ADMISSION_REFUSED: 'Invalid',
  CONFIG_UNKNOWN_KIND: 'Invalid',
};

/**
 * The stderr text for a failed verb: `Error from server (Reason): ...` for the API's refusals (they carry an
 * HTTP status), `error: ...` for everything found locally. Never a stack trace for a coded error.
 */
export function describeCliFailure(err: unknown): string {
  if (!isWeftError(err)) return `error: ${err instanceof Error ? err.message : String(err)}`;
  const reason = fromServer.has(err) ? (SERVER_REASON[err.code] ?? 'InternalError') : undefined;
  return reason === undefined ? `error: ${err.message}` : `Error from server (${reason}): ${err.message}`;
}

/** Where a verb prints: the process's streams, or a test's buffers. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: CliOutput = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Runs a verb's body: a failure goes to stderr as one message and sets exit code 1. */
export async function runVerb(io: CliOutput, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    io.err(`${describeCliFailure(err)}\n`);
    process.exitCode = 1;
  }
}
