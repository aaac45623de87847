/**
 * The servers of the "outside" network (a destination beyond the mesh), run inside its namespace by
 * outside-netns.ts: plain HTTP, HTTPS with the certificate in TLS_CERT/TLS_KEY, and a line-echo TCP server. Each
 * answer names the server and what it received, so a test can tell an answer from the outside apart from
 * anything a proxy in between could have produced. Prints "outside ready" once all three listen; SIGTERM stops.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import readline from 'node:readline';
import type { IncomingMessage, ServerResponse } from 'node:http';

const host = process.env['OUTSIDE_ADDRESS'] ?? '0.0.0.0';
const httpPort = Number(process.env['HTTP_PORT'] ?? 80);
const httpsPort = Number(process.env['HTTPS_PORT'] ?? 443);
const tcpPort = Number(process.env['TCP_PORT'] ?? 9000);

function answer(server: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ server, host: req.headers.host ?? '', method: req.method, path: req.url, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
}

const plain = http.createServer(answer('outside-http'));
const secure = https.createServer(
  { cert: fs.readFileSync(process.env['TLS_CERT'] ?? ''), key: fs.readFileSync(process.env['TLS_KEY'] ?? '') },
  answer('outside-https'),
);
const echo = net.createServer((socket) => {
  socket.on('error', () => socket.destroy());
  readline.createInterface({ input: socket }).on('line', (line) => socket.write(`outside-echo ${line}\n`));
});

const listening = [
  [plain, httpPort],
  [secure, httpsPort],
  [echo, tcpPort],
].map(
  ([server, port]) =>
    new Promise<void>((resolve, reject) => {
      (server as net.Server).once('error', reject);
      (server as net.Server).listen(port as number, host, resolve);
    }),
);

Promise.all(listening).then(
  () => process.stdout.write(`outside ready on ${host}: http ${httpPort}, https ${httpsPort}, tcp ${tcpPort}\n`),
  (err: unknown) => {
    process.stderr.write(`outside servers cannot listen: ${String(err)}\n`);
    process.exit(1);
  },
);

process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
