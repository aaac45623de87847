/**
 * Forward one HTTP/1.1 request to an upstream pool and stream the answer back. Hop-by-hop headers never cross
 * (RFC 9110 §7.6.1), nor do headers the mesh owns (x-forwarded-client-cert): the caller's `extra` sets those.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { upstreamFailure } from './upstream-error.js';
import { sendProxyError } from './proxy-error.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-forwarded-client-cert',
]);

/** The request headers to send upstream, as a flat [name, value, ...] list (undici's cheapest form). */
export function upstreamHeaders(
  req: IncomingMessage,
  authority: string,
  extra: readonly string[],
  remove?: ReadonlySet<string>,
): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  const connectionTokens = connectionListed(req.headers.connection);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'host' || connectionTokens?.has(lower) === true || remove?.has(lower) === true) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('host', authority);
  for (const v of extra) out.push(v);
  return out;
}

function connectionListed(header: string | undefined): Set<string> | undefined {
  if (!header) return undefined;
  const set = new Set<string>();
  for (const t of header.split(',')) set.add(t.trim().toLowerCase());
  return set;
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

export interface ForwardDone {
  status: number;
  error?: string;
}

export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Dispatcher,
  path: string,
  headers: string[],
  onDone: (d: ForwardDone) => void,
): void {
  upstream.request(
    { path, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody(req) ? req : null },
    (err, data) => {
      if (err) {
        const f = upstreamFailure(err);
        sendProxyError(res, f.status, f.reason);
        onDone({ status: f.status, error: f.reason });
        return;
      }
      const out: string[] = [];
      const raw = data.headers;
      for (const name in raw) {
        if (HOP_BY_HOP.has(name) && name !== 'x-forwarded-client-cert') continue;
        const v = raw[name];
        if (Array.isArray(v)) for (const one of v) out.push(name, one);
        else if (v !== undefined) out.push(name, v);
      }
      res.writeHead(data.statusCode, out);
      data.body.pipe(res);
      data.body.once('error', () => res.destroy());
      res.once('close', () => {
        if (!res.writableFinished) data.body.destroy();
      });
      onDone({ status: data.statusCode });
    },
  );
}
