/**
 * Where the proxy writes a reply of its own: an HTTP/1.1 ServerResponse, or an HTTP/2 stream's local reply
 * (http2/h2-local-reply.ts), which answers a gRPC caller in gRPC's terms.
 */
export interface LocalReply {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body: string): unknown;
  destroy(): unknown;
}

/** A response the proxy itself makes (no route, no upstream, denied): plain text, a reason a person can act on. */
export function sendProxyError(res: LocalReply, status: number, reason: string): void {
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
