/**
 * The grpc-echo app: a gRPC server (@grpc/grpc-js, h2c) whose replies name the pod that answered. A message may ask
 * for a behaviour, so tests and the example can show retries and deadlines:
 *   `unavailable-once:<id>`  answers UNAVAILABLE the first time an id is seen (by any server of this process), then OK
 *   `unavailable`            always UNAVAILABLE
 *   `unavailable-on:<pod>`   UNAVAILABLE from that pod only (a bad replica), OK from the others
 *   `sleep:<ms>`             answers after that long (or never, if the call is cancelled first)
 * Count streams `count` replies, `interval_ms` apart.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const ECHO_PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'grpc-echo', 'echo.proto');

export interface EchoRequest {
  message: string;
  count?: number;
  intervalMs?: number;
}
export interface EchoReply {
  message: string;
  pod: string;
  seq: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ServiceClientCtor = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition<any> };

export function echoService(): ServiceClientCtor {
  const def = protoLoader.loadSync(ECHO_PROTO, { keepCase: false, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { weft: { echo: { Echo: ServiceClientCtor } } };
  return pkg.weft.echo.Echo;
}

/** Ids that have failed once, shared by the servers of one process (replicas in one test see one history). */
const seen = new Set<string>();

export interface EchoServer {
  server: grpc.Server;
  port: number;
  /** Every call the server saw, as `<method> <message>`. */
  calls: string[];
  close(): Promise<void>;
}

export async function startEchoServer(pod: string, host: string, port = 0): Promise<EchoServer> {
  const calls: string[] = [];
  const server = new grpc.Server();
  server.addService(echoService().service, {
    say(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
      const message = call.request.message;
      calls.push(`Say ${message}`);
      const badPod = message.startsWith('unavailable-on:') && message.slice(15) === pod;
      if (badPod || message === 'unavailable' || (message.startsWith('unavailable-once:') && !seen.has(message))) {
        seen.add(message);
        callback({ code: grpc.status.UNAVAILABLE, details: `${pod} is unavailable` });
        return;
      }
      if (message.startsWith('sleep:')) {
        const timer = setTimeout(() => callback(null, { message, pod, seq: 0 }), Number(message.slice(6)));
        call.on('cancelled', () => {
          clearTimeout(timer);
          calls.push(`cancelled ${message}`);
        });
        return;
      }
      callback(null, { message, pod, seq: 0 });
    },
    count(call: grpc.ServerWritableStream<EchoRequest, EchoReply>) {
      const { message, count = 1, intervalMs = 0 } = call.request;
      calls.push(`Count ${message}`);
      let seq = 0;
      const next = (): void => {
        if (call.cancelled) return;
        if (seq >= count) {
          call.end();
          return;
        }
        call.write({ message, pod, seq: seq++ });
        setTimeout(next, intervalMs);
      };
      next();
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port: bound,
    calls,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())),
  };
}
