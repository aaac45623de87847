/**
 * A stand-in for an external HTTPS host, run by a test inside its outside network namespace (outside-netns.ts): one
 * server for clients that present no certificate and one that requires a client certificate its CA signed (the
 * nginx of Istio's TLS origination tasks, `ssl_verify_client on`). Each answer names which server answered, the SNI,
 * the client certificate's CN and the Host received, so a test sees what the TLS-originating proxy sent. Listens on
 * ports the kernel picks and prints "origin ready simple=P mutual=Q"; SIGTERM stops.
 */
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

const address = process.env['ORIGIN_ADDRESS'] ?? '127.0.0.1';
const cert = fs.readFileSync(process.env['TLS_CERT'] ?? '');
const key = fs.readFileSync(process.env['TLS_KEY'] ?? '');
const clientCa = fs.readFileSync(process.env['CLIENT_CA'] ?? '');

function answer(server: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const socket = req.socket as TLSSocket & { servername?: string | false };
    const cn = socket.getPeerCertificate()?.subject?.CN as string | undefined;
    res.end(`${server} sni=${socket.servername || 'none'} client=${cn ?? 'none'} host=${req.headers.host ?? ''}`);
  };
}

const simple = https.createServer({ cert, key }, answer('simple'));
const mutual = https.createServer({ cert, key, ca: clientCa, requestCert: true, rejectUnauthorized: true }, answer('mutual'));

function listen(server: https.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve((server.address() as AddressInfo).port));
  });
}

Promise.all([listen(simple), listen(mutual)]).then(
  ([s, m]) => process.stdout.write(`origin ready simple=${s} mutual=${m}\n`),
  (err: unknown) => {
    process.stderr.write(`origin servers cannot listen: ${String(err)}\n`);
    process.exit(1);
  },
);

process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
