/**
 * A gRPC-shaped echo service over cleartext HTTP/2 (h2c, as gRPC servers behind a sidecar listen): POST
 * /echo.Echo/Say answers each message prefixed with POD_NAME, with the `grpc-status` trailer gRPC clients wait for.
 * It binds POD_IP on PORT (default 50051) and exits 0 on SIGTERM.
 */
import http2 from 'node:http2';
import { grpcFrame, grpcMessages } from './grpc-frame.js';

const host = process.env['POD_IP'] || '127.0.0.1';
const port = Number(process.env['PORT'] ?? 50051);
const name = process.env['POD_NAME'] ?? 'grpc-echo';
const MAX_REQUEST_BYTES = 64 * 1024;

const server = http2.createServer();
server.on('stream', (stream, headers) => {
  stream.on('error', () => stream.destroy());
  const fail = (status: number, message: string): void => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status), 'grpc-message': message }));
    stream.end();
  };
  if (headers[':method'] !== 'POST' || headers[':path'] !== '/echo.Echo/Say') return fail(12, 'unimplemented');
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_REQUEST_BYTES) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    else chunks.push(c);
  });
  stream.on('end', () => {
    const messages = grpcMessages(Buffer.concat(chunks));
    if (!messages) return fail(3, 'malformed message framing');
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    for (const m of messages) stream.write(grpcFrame(`${name}: ${m}`));
    stream.end();
  });
});
server.listen(port, host, () => {
  const bound = server.address();
  process.stdout.write(`grpc-echo listening on http://${host}:${typeof bound === 'object' && bound ? bound.port : port}\n`);
});

const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
