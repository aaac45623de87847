/**
 * The runtime contract every example app shares with `weft up`: bind the pod's own address (POD_IP) on its
 * container port, log one line per request, and on SIGTERM stop accepting, drop idle keep-alive sockets and
 * exit 0 so the supervisor sees a clean shutdown.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { WeftError, isWeftError } from '../src/errors.js';

export type PodHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface PodServerOptions {
  /** Name used in log lines. */
  app: string;
  /** The Workload's containerPort; PORT overrides it (tests pass PORT=0 to get a free one). */
  defaultPort: number;
}

/** Where the pod listens: PORT beats the Workload's container port; POD_IP is the pod's own loopback address. */
export function podListenAddress(env: NodeJS.ProcessEnv, defaultPort: number): { host: string; port: number } {
  const host = env.POD_IP || '127.0.0.1';
  const raw = env.PORT;
  const port = raw === undefined || raw === '' ? defaultPort : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`PORT must be an integer in 0..65535, got ${JSON.stringify(raw)}`);
  }
  return { host, port };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads a request body, refusing (413) more than `limit` bytes rather than buffering whatever a client sends. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function bodyTooLarge(limit: number): WeftError {
  return new WeftError('BAD_REQUEST', `request body exceeds ${limit} bytes`, { status: 413, detail: { limit } });
}

/** Starts the app; resolves once listening. The first stdout line names the bound URL, which tests wait for. */
export function servePod(handler: PodHandler, options: PodServerOptions): Promise<Server> {
  const { host, port } = podListenAddress(process.env, options.defaultPort);
  const server = createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      console.log(`${options.app} ${req.method ?? '-'} ${req.url ?? '-'} ${res.statusCode} ${Date.now() - started}ms`);
    });
    // A failing handler answers instead of killing the pod: one bad request must not take the others down.
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (isWeftError(err) && err.status !== undefined) {
          // A body refused part-way cannot be framed any more (its unread rest would be parsed as the next request):
          // close. One refused by its declared length before any of it was read is left to Node, which discards it by
          // that length and keeps the connection; closing there reset the connection under a client still sending,
          // which then lost the answer.
          if (req.readableDidRead) res.setHeader('connection', 'close');
          return sendJson(res, err.status, { error: err.message });
        }
        console.error(`${options.app} handler failed:`, err);
        sendJson(res, 500, { error: 'internal error' });
      });
  });

  const shutdown = (): void => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    // In-flight requests get a moment to finish; after that the pod leaves anyway, still cleanly.
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      console.log(`${options.app} listening on http://${host}:${bound}`);
      resolve(server);
    });
  });
}
