/**
 * The gRPC bench's call: `weft.echo.Echo/Say` with an EchoRequest as h2load's request body, and one call checked by
 * hand before the load, since h2load counts HTTP statuses and a failed gRPC call is still an HTTP 200.
 */
import http2 from 'node:http2';

export const SAY_PATH = '/weft.echo.Echo/Say';
export const GRPC_HEADERS = ['content-type: application/grpc', 'te: trailers'];

/**
 * One length-prefixed gRPC message (uncompressed) holding EchoRequest { message } (echo.proto): field 1, wire type 2
 * (tag 0x0a), its varint length, the UTF-8 bytes. Written by hand: the message is one string field.
 */
export function sayRequestFrame(message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const varint: number[] = [];
  for (let n = text.length; ; n >>>= 7) {
    if (n < 0x80) {
      varint.push(n);
      break;
    }
    varint.push((n & 0x7f) | 0x80);
  }
  const proto = Buffer.concat([Buffer.from([0x0a, ...varint]), text]);
  const frame = Buffer.alloc(5 + proto.length);
  frame.writeUInt32BE(proto.length, 1);
  proto.copy(frame, 5);
  return frame;
}

export interface ProbeResult {
  status: number;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  bodyBytes: number;
}

/** One call with `body` to `origin` (h2c, prior knowledge), naming `authority`; its HTTP status and gRPC status. */
export function probeGrpc(origin: string, authority: string, body: Buffer, timeoutMs = 10_000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error(`gRPC probe to ${origin} (${authority}) had no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    session.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const stream = session.request({ ':method': 'POST', ':path': SAY_PATH, ':authority': authority, 'content-type': 'application/grpc', te: 'trailers' });
    let status = 0;
    let headerGrpc: string | undefined;
    let headerMessage: string | undefined;
    let bodyBytes = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    stream.once('response', (h) => {
      status = Number(h[':status']);
      // A trailers-only answer carries grpc-status in its headers.
      headerGrpc = h['grpc-status'] as string | undefined;
      headerMessage = h['grpc-message'] as string | undefined;
    });
    stream.once('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => (bodyBytes += c.length));
    stream.once('error', (err) => {
      clearTimeout(timer);
      session.destroy();
      reject(err);
    });
    stream.once('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({
        status,
        grpcStatus: (trailers['grpc-status'] as string | undefined) ?? headerGrpc,
        grpcMessage: (trailers['grpc-message'] as string | undefined) ?? headerMessage,
        bodyBytes,
      });
    });
    stream.end(body);
  });
}
