import type { ServerResponse } from 'node:http';

/** A response the proxy itself makes (no route, no upstream, denied): plain text, a reason a person can act on. */
export function sendProxyError(res: ServerResponse, status: number, reason: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${reason}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    server: 'weft',
  });
  res.end(body);
}
