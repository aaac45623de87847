/**
 * A gRPC-shaped client: `node grpc-call.js <host:port> <message> [calls]` calls /echo.Echo/Say over cleartext
 * HTTP/2 and prints each reply message, then `grpc-status: <n>`; exit status 0 only when grpc-status is 0. With
 * `calls` > 1 it makes that many calls one after another on one connection (as a gRPC client keeps one) and prints,
 * per pod that answered, `<pod> answered <n>`: the sidecar balances each call, so every replica answers some.
 * Where the sidecar is the app's explicit proxy (`http_proxy`, loopback pods), the connection goes to it and the
 * target is named by `:authority`; in network-namespace pods the connection to the target is captured.
 */
import http2 from 'node:http2';
import { grpcFrame, grpcMessages } from './grpc-frame.js';

const [target = 'grpc-echo:50051', message = 'hello', callsArg = '1'] = process.argv.slice(2);
const calls = Math.max(1, Number(callsArg) || 1);
const proxy = process.env['http_proxy'];
const session = http2.connect(proxy ? proxy.replace(/\/$/, '') : `http://${target}`);
session.on('error', (err) => {
  process.stderr.write(`grpc-call: ${err.message}\n`);
  process.exit(2);
});

interface Answer {
  status: string;
  messages: string[];
}

function call(): Promise<Answer> {
  return new Promise((resolve) => {
    const req = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', ':authority': target, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', (err) => {
      process.stderr.write(`grpc-call: ${err.message}\n`);
      process.exit(2);
    });
    const chunks: Buffer[] = [];
    let status: string | undefined;
    req.on('response', (h) => {
      // A trailers-only answer (a reply of the proxy's own) has its status in the headers.
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('trailers', (trailers) => (status = String(trailers['grpc-status'] ?? 'missing')));
    req.on('end', () => {
      if (status === undefined) process.stderr.write('grpc-call: the stream ended without trailers\n');
      resolve({ status: status ?? 'missing', messages: grpcMessages(Buffer.concat(chunks)) ?? ['(malformed reply)'] });
    });
    req.setTimeout(10_000, () => {
      process.stderr.write('grpc-call: no answer in 10 s\n');
      process.exit(2);
    });
    req.end(grpcFrame(message));
  });
}

if (calls === 1) {
  const a = await call();
  for (const m of a.messages) process.stdout.write(`${m}\n`);
  process.stdout.write(`grpc-status: ${a.status}\n`);
  process.exitCode = a.status === '0' ? 0 : 1;
} else {
  const byPod = new Map<string, number>();
  let failed = 0;
  for (let i = 0; i < calls; i++) {
    const a = await call();
    if (a.status !== '0') failed++;
    for (const m of a.messages) {
      const pod = m.slice(0, Math.max(0, m.indexOf(': ')));
      byPod.set(pod, (byPod.get(pod) ?? 0) + 1);
    }
  }
  for (const [pod, n] of [...byPod].sort()) process.stdout.write(`${pod} answered ${n}\n`);
  process.stdout.write(`failed ${failed}\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}
session.close();
