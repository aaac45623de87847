/**
 * A gRPC-shaped client: `node grpc-call.js <host:port> <message>` calls /echo.Echo/Say over cleartext HTTP/2 and
 * prints each reply message, then `grpc-status: <n>`; exit status 0 only when grpc-status is 0.
 */
import http2 from 'node:http2';
import { grpcFrame, grpcMessages } from './grpc-frame.js';

const [target = 'grpc-echo:50051', message = 'hello'] = process.argv.slice(2);
const session = http2.connect(`http://${target}`);
session.on('error', (err) => {
  process.stderr.write(`grpc-call: ${err.message}\n`);
  process.exit(2);
});
const req = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', 'content-type': 'application/grpc', te: 'trailers' });
req.on('error', (err) => {
  process.stderr.write(`grpc-call: ${err.message}\n`);
  process.exit(2);
});
const chunks: Buffer[] = [];
req.on('data', (c: Buffer) => chunks.push(c));
req.on('trailers', (trailers) => {
  for (const m of grpcMessages(Buffer.concat(chunks)) ?? ['(malformed reply)']) process.stdout.write(`${m}\n`);
  const status = String(trailers['grpc-status'] ?? 'missing');
  process.stdout.write(`grpc-status: ${status}\n`);
  process.exitCode = status === '0' ? 0 : 1;
  session.close();
});
req.on('end', () => {
  if (process.exitCode === undefined) {
    process.stderr.write('grpc-call: the stream ended without trailers\n');
    process.exitCode = 1;
    session.close();
  }
});
req.setTimeout(10_000, () => {
  process.stderr.write('grpc-call: no answer in 10 s\n');
  process.exit(2);
});
req.end(grpcFrame(message));
