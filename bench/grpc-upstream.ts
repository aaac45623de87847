/**
 * The gRPC bench's upstream app: a @grpc/grpc-js server of examples/grpc-echo's `weft.echo.Echo` (h2c), answering
 * each unary `Say` with the message and its pod's name. Unlike the example's server it records nothing per call,
 * so a long run does not grow it. Binds POD_IP:PORT (default 50051); exits on SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';
import { echoService } from '../examples/grpc-echo/echo-server.js';
import type { EchoReply, EchoRequest } from '../examples/grpc-echo/echo-server.js';

const host = process.env['POD_IP'] || '127.0.0.1';
const port = Number(process.env['PORT'] ?? 50051);
const pod = process.env['POD_NAME'] ?? 'grpc-echo';

const server = new grpc.Server();
server.addService(echoService().service, {
  say(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
    callback(null, { message: call.request.message, pod, seq: 0 });
  },
  count(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'the bench server answers Say only' });
  },
});
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    process.stderr.write(`grpc-upstream: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`grpc-upstream listening on ${host}:${bound}\n`);
});

const stop = (): void => {
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
