/**
 * The request `weft route check` is asked about, from the command line: a URL (`http://reviews:9080/path?q=1`) or a
 * host[:port] with `--path`, a method, `-H 'name: value'` headers and `--query name=value` parameters added to any
 * query the URL carries. Headers keep their repeated values, as the proxy's matcher reads them.
 */
import { WeftError } from '../errors.js';
import type { CheckedRequest } from './explain-route.js';

export interface RequestFlags {
  /** A URL, or host[:port]. */
  target: string;
  path?: string;
  method: string;
  headers: string[];
  query: string[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Why a `-H` value is no header line, or undefined. */
export function headerLineProblem(line: string): string | undefined {
  const colon = line.indexOf(':');
  return colon > 0 && TOKEN.test(line.slice(0, colon).trim()) ? undefined : 'Expected "name: value".';
}

export function methodProblem(method: string): string | undefined {
  return TOKEN.test(method) ? undefined : 'Expected an HTTP method such as GET or POST.';
}

export function queryParamProblem(kv: string): string | undefined {
  return kv === '' || kv.startsWith('=') ? 'Expected name=value.' : undefined;
}

function bad(message: string): WeftError {
  return new WeftError('BAD_REQUEST', message);
}

function headerBag(lines: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const line of lines) {
    if (headerLineProblem(line) !== undefined) throw bad(`-H "${line}": expected "name: value"`);
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prior = out[name];
    out[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  return out;
}

export function checkedRequest(f: RequestFlags): CheckedRequest {
  if (methodProblem(f.method) !== undefined) throw bad(`--method "${f.method}" is not an HTTP method`);
  const isUrl = /^[a-z][a-z0-9+.-]*:\/\//i.test(f.target);
  let url: URL;
  try {
    url = new URL(isUrl ? f.target : `http://${f.target}`);
  } catch {
    throw bad(`"${f.target}" is neither a URL nor host[:port]`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`"${f.target}": only http and https requests are routed`);
  if (url.username !== '' || url.password !== '') throw bad(`"${f.target}": credentials in the URL are not part of a route`);
  if (!isUrl && (url.pathname !== '/' || url.search !== '')) throw bad(`"${f.target}": give the path with --path, or a whole URL`);
  if (isUrl && f.path !== undefined) throw bad('--path goes with host[:port], not with a URL');
  const headers = headerBag(f.headers);
  // The authority as the app writes it: the URL's own text (URL drops a default port, which the proxy would see).
  const authority = isUrl ? f.target.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/, 1)[0]! : f.target;
  const rawPath = f.path ?? (isUrl ? `${url.pathname}${url.search}` : '/');
  if (!rawPath.startsWith('/')) throw bad(`--path "${rawPath}" must start with /`);
  const q = rawPath.indexOf('?');
  const extra = f.query.map((kv) => {
    if (queryParamProblem(kv) !== undefined) throw bad(`--query "${kv}": expected name=value`);
    return kv;
  });
  const query = [q < 0 ? '' : rawPath.slice(q + 1), ...extra].filter((s) => s !== '').join('&');
  return { authority, path: q < 0 ? rawPath : rawPath.slice(0, q), query, method: f.method, scheme: url.protocol === 'https:' ? 'https' : 'http', headers: { ...headers, host: authority } };
}
