/**
 * The request body bytes a proxy actually received, chunked or not, HTTP/1.1 or HTTP/2: Istio's `request_bytes` and
 * Envoy's BYTES_RECEIVED count what arrived, not what Content-Length declared. Node's HTTP/1.1 parser and its
 * HTTP/2 session hand each body chunk to the request stream's `push`; counting there sees every chunk without
 * adding a `data` listener, which would start the stream flowing before its consumer (undici, a retry buffer, a
 * pipe) is attached and lose data. Only a request that can have a body is counted. Node emits an HTTP/2 server
 * stream on the tick after its HEADERS frame, so DATA that came in the same read is already buffered, unread: the
 * count starts from what the stream holds.
 */
import type { Readable } from 'node:stream';

export interface BodyBytes {
  bytes: number;
}

export function countBodyBytes(stream: Readable): BodyBytes {
  const counter: BodyBytes = { bytes: stream.readableLength };
  const push = stream.push;
  stream.push = function countedPush(this: Readable, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk !== null && chunk !== undefined) counter.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : (chunk as Uint8Array).byteLength;
    return push.call(this, chunk, encoding);
  };
  return counter;
}
