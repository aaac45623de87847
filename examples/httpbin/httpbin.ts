/**
 * httpbin: an HTTP request-and-response service answering a useful subset of httpbin.org's API, so mesh
 * behaviour (headers added by the sidecar, injected faults, status codes, delays) can be observed by curl.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { WeftError } from '../../src/errors.js';
import { readBody, sendText, servePod } from '../pod-server.js';
import { chooseStatus, echoBody, echoHeaders, echoOrigin, echoUrl, multiDict } from './httpbin-echo.js';

const BODY_LIMIT = 1024 * 1024;
const MAX_DELAY_SECONDS = 10;
const ANY_METHOD = null;

/** httpbin pretty-prints its JSON; byte-for-byte comparisons in scripts expect it. */
function reply(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, `${JSON.stringify(body, null, 2)}\n`, 'application/json');
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  body: Buffer;
}

function requestEcho(x: Exchange): Record<string, unknown> {
  return { args: multiDict(x.query), headers: echoHeaders(x.req.rawHeaders), origin: echoOrigin(x.req), url: echoUrl(x.req) };
}

function fullEcho(x: Exchange): Record<string, unknown> {
  const { data, files, form, json } = echoBody(x.req.headers['content-type'], x.body);
  const { args, headers, origin, url } = requestEcho(x);
  return { args, data, files, form, headers, json, method: x.req.method, origin, url };
}

/** Extra headers httpbin sends with some statuses, so clients see a well-formed answer of that kind. */
function statusHeaders(status: number): Record<string, string> {
  if ([301, 302, 303, 305, 307].includes(status)) return { location: '/redirect/1' };
  if (status === 401) return { 'www-authenticate': 'Basic realm="Fake Realm"' };
  if (status === 407) return { 'proxy-authenticate': 'Basic realm="Fake Realm"' };
  if (status === 418) return { 'x-more-info': 'http://tools.ietf.org/html/rfc2324' };
  return {};
}

function status(x: Exchange, spec: string): void {
  const code = chooseStatus(spec, Math.random);
  const body = code === 418 ? "I'm a teapot\n" : '';
  x.res.writeHead(code, { ...statusHeaders(code), 'content-length': Buffer.byteLength(body), 'content-type': 'text/html; charset=utf-8' });
  x.res.end(body);
}

async function delay(x: Exchange, seconds: string): Promise<void> {
  const wanted = Number(seconds);
  if (seconds === '' || !Number.isFinite(wanted) || wanted < 0) {
    throw new WeftError('BAD_REQUEST', `invalid delay: ${seconds}`, { status: 400 });
  }
  // A client that hangs up stops the wait, so abandoned delays do not pile up timers.
  const gone = new AbortController();
  x.res.once('close', () => gone.abort());
  try {
    await sleep(Math.min(wanted, MAX_DELAY_SECONDS) * 1000, undefined, { signal: gone.signal });
  } catch {
    return;
  }
  const { data, files, form } = echoBody(x.req.headers['content-type'], x.body);
  reply(x.res, 200, { ...requestEcho(x), data, files, form });
}

type Route = [RegExp, readonly string[] | typeof ANY_METHOD, (x: Exchange, m: RegExpExecArray) => void | Promise<void>];

const GET = ['GET', 'HEAD'] as const;
const ROUTES: Route[] = [
  [/^\/$/, GET, (x) => sendText(x.res, 200, 'httpbin: HTTP request and response service. Try /get, /headers, /status/418.\n')],
  [/^\/get$/, GET, (x) => reply(x.res, 200, requestEcho(x))],
  [/^\/headers$/, GET, (x) => reply(x.res, 200, { headers: echoHeaders(x.req.rawHeaders) })],
  [/^\/ip$/, GET, (x) => reply(x.res, 200, { origin: echoOrigin(x.req) })],
  [/^\/user-agent$/, GET, (x) => reply(x.res, 200, { 'user-agent': x.req.headers['user-agent'] ?? null })],
  [/^\/status\/([^/]+)$/, ANY_METHOD, (x, m) => status(x, m[1] ?? '')],
  [/^\/delay\/([^/]+)$/, ANY_METHOD, (x, m) => delay(x, m[1] ?? '')],
  [/^\/anything(\/.*)?$/, ANY_METHOD, (x) => reply(x.res, 200, fullEcho(x))],
];

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://httpbin');
  const body = await readBody(req, BODY_LIMIT);
  const exchange: Exchange = { req, res, query: url.searchParams, body };
  for (const [pattern, methods, serve] of ROUTES) {
    const match = pattern.exec(url.pathname);
    if (match === null) continue;
    if (methods !== ANY_METHOD && !methods.includes(req.method ?? 'GET')) {
      res.setHeader('allow', methods.join(', '));
      return reply(res, 405, { error: 'method not allowed' });
    }
    return serve(exchange, match);
  }
  reply(res, 404, { error: 'not found' });
}

await servePod(handle, { app: 'httpbin', defaultPort: 8080 });
