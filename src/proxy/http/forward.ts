/**
 * Forward one HTTP/1.1 request to an upstream pool and stream the answer back. Hop-by-hop headers never cross
 * (RFC 9110 §7.6.1), nor do headers the mesh owns (x-forwarded-client-cert): the caller's `extra` sets those.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { isConnectFailure, upstreamFailure } from './upstream-error.js';
import { sendProxyError } from './proxy-error.js';

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
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
  return upstreamHeaderList(req.rawHeaders, req.headers.connection, authority, extra, remove);
}

/** The same from received headers as a flat list and the Connection header's value. */
export function upstreamHeaderList(
  raw: readonly string[],
  connection: string | string[] | undefined,
  authority: string,
  extra: readonly string[],
  remove?: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  const connectionTokens = connectionListed(typeof connection === 'string' ? connection : undefined);
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
  /** The upstream connection was never made (Envoy's `UF`). */
  connectFailed?: boolean;
  /** Response body bytes passed to the client. */
  responseBytes: number;
}

/**
 * Streams one upstream response into the downstream response with undici's dispatch handler API: no
 * intermediate Readable per request, backpressure by pausing the upstream while the client is slow, and an
 * upstream abort when the client goes away.
 */
class ResponseForwarder implements Dispatcher.DispatchHandler {
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #bytes = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly onDone: (d: ForwardDone) => void,
  ) {
    res.once('close', this.#onClientClose);
  }

  #onClientClose = (): void => {
    if (!this.res.writableFinished) this.#controller?.abort(new Error('downstream closed'));
  };

  #onDrain = (): void => this.#controller?.resume();

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.#status = statusCode;
    const out: string[] = [];
    for (const name in headers) {
      if (HOP_BY_HOP.has(name) && name !== 'x-forwarded-client-cert') continue;
      const v = headers[name];
      if (Array.isArray(v)) for (const one of v) out.push(name, one);
      else if (v !== undefined) out.push(name, v);
    }
    this.res.writeHead(statusCode, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.#onDrain);
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.onDone({ status: this.#status, responseBytes: this.#bytes });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.res.headersSent) {
      this.res.destroy();
      this.onDone({ status: this.#status, error: `upstream reset mid-response: ${err.message}`, responseBytes: this.#bytes });
      return;
    }
    const f = upstreamFailure(err);
    sendProxyError(this.res, f.status, f.reason);
    this.onDone({ status: f.status, error: f.reason, connectFailed: isConnectFailure(err), responseBytes: 0 });
  }
}

export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Dispatcher,
  path: string,
  headers: string[],
  onDone: (d: ForwardDone) => void,
  /** Close the connection after this request (a DestinationRule's maxRequestsPerConnection: 1). */
  reset = false,
): void {
  upstream.dispatch(
    { path, method: req.method as Dispatcher.HttpMethod, headers, body: hasBody(req) ? req : null, reset },
    new ResponseForwarder(res, onDone),
  );
}
