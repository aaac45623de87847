/** Test fixture: real ClientHellos, as Node's TLS client sends them, for the SNI reader's tests and fuzzing. */
import net from 'node:net';
import tls from 'node:tls';
import { listenOnLoopback } from '../loopback.fixture.js';

/** The first bytes Node's TLS client really sends, captured by a plain TCP server on loopback. */
export async function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  const port = await listenOnLoopback(server);
  try {
    const got = new Promise<Buffer>((resolve) => {
      server.once('connection', (s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => {
          chunks.push(c);
          const all = Buffer.concat(chunks);
          if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
            resolve(all);
            s.destroy();
          }
        });
      });
    });
    const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    client.on('error', () => undefined);
    const hello = await got;
    client.destroy();
    return hello;
  } finally {
    server.close();
  }
}

/** The same handshake message cut into two records, as a client may send a large ClientHello. */
export function splitIntoTwoRecords(hello: Buffer, at: number): Buffer {
  const body = hello.subarray(5);
  const record = (part: Buffer): Buffer => Buffer.concat([Buffer.from([0x16, 3, 1, part.length >> 8, part.length & 0xff]), part]);
  return Buffer.concat([record(body.subarray(0, at)), record(body.subarray(at))]);
}
