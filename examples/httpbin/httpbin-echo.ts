/**
 * The shapes httpbin answers with, as pure functions: how it names headers, lists query arguments, reads a
 * body as form or JSON, and picks a status from `/status/{codes}`. Clients and tests compare against
 * httpbin's exact output, so these follow httpbin rather than Node's conventions.
 */
import type { IncomingMessage } from 'node:http';
import { WeftError } from '../../src/errors.js';

/** httpbin prints header names the way Werkzeug stores them: `x-request-id` becomes `X-Request-Id`. */
export function titleCaseHeader(name: string): string {
  return name
    .split('-')
    .map((part) => (part === '' ? part : part[0]!.toUpperCase() + part.slice(1).toLowerCase()))
    .join('-');
}

/** Request headers in httpbin's form: Title-Case names, repeated headers joined with commas. */
export function echoHeaders(rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = titleCaseHeader(rawHeaders[i]!);
    const value = rawHeaders[i + 1]!;
    out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
  }
  return out;
}

/** Query or form fields: one value stays a string, a repeated field becomes a list. */
export function multiDict(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length === 1 ? values[0]! : values;
  }
  return out;
}

export interface BodyEcho {
  data: string;
  form: Record<string, string | string[]>;
  json: unknown;
  files: Record<string, string>;
}

/** httpbin puts a url-encoded body in `form` and anything else in `data`; `json` is the data parsed, or null. */
export function echoBody(contentType: string | undefined, body: Buffer): BodyEcho {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const text = body.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    return { data: '', form: multiDict(new URLSearchParams(text)), json: null, files: {} };
  }
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  return { data: text, form: {}, json, files: {} };
}

/** The caller as httpbin reports it: the first hop of X-Forwarded-For when a proxy set one, else the peer. */
export function echoOrigin(req: IncomingMessage): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = Array.isArray(forwarded) ? forwarded[0] : forwarded;
  return first !== undefined && first !== '' ? first : (req.socket.remoteAddress ?? '');
}

/** The full URL httpbin echoes: scheme, the Host the client used, path and query. */
export function echoUrl(req: IncomingMessage): string {
  return `http://${req.headers.host ?? 'httpbin'}${req.url ?? '/'}`;
}

/**
 * Picks the answer to `/status/{codes}`: one code, or a comma-separated choice (`200,503`) taken uniformly,
 * or weighted (`200:0.9,503:0.1`). `random` returns [0, 1), injected so tests can pin the choice.
 */
export function chooseStatus(spec: string, random: () => number): number {
  const choices = spec.split(',').map((item) => {
    const [code, weight] = item.split(':');
    const status = Number(code);
    const w = weight === undefined ? 1 : Number(weight);
    if (!/^\d{3}$/.test(code ?? '') || status < 100 || status > 599 || !Number.isFinite(w) || w < 0) {
      throw new WeftError('BAD_REQUEST', `Invalid status code: ${item}`, { status: 400, detail: { spec } });
    }
    return { status, weight: w };
  });
  const total = choices.reduce((sum, c) => sum + c.weight, 0);
  let point = random() * total;
  for (const choice of choices) {
    if (point < choice.weight) return choice.status;
    point -= choice.weight;
  }
  return choices[choices.length - 1]!.status;
}
