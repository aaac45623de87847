import type http from 'node:http';

/**
 * Limits every proxy HTTP listener shares: a malformed or oversized request gets a 400/431 and the connection is
 * closed, never an exception; slow clients are cut off (slowloris). Node's parser already rejects request
 * smuggling shapes (both Content-Length and Transfer-Encoding, bad chunking) with a clientError.
 */
export function hardenServer(server: http.Server): void {
  server.headersTimeout = 30_000;
  server.requestTimeout = 0;
  server.keepAliveTimeout = 60_000;
  server.maxHeadersCount = 200;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
}
